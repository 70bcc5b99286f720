"""Soaks: hours to days of load against a target, watched at 1 Hz and judged window by window."""
