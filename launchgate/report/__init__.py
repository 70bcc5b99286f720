"""The report: verdict.json rendered as index.html (UAT testers, release managers) and junit.xml (CI).

Entry points: `build_report` and `report_command` in launchgate.report.build. See README.md beside this file.
"""
