"""What leaves the dashboard as a file: the Markdown report and the record downloads."""
