"""Page objects for the reference console and the UAT sign-off page.

They speak the pages' accessible language only: roles, accessible names and labels, never CSS
selectors. A page object that cannot find what it needs fails with the page's URL in its message.
"""
