"""Analysis: statistics, plots (pure: data in, figure out), reports and the dashboard."""
