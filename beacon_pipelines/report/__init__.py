"""What a researcher reads and shares: the HTML report and the CSV exports."""
