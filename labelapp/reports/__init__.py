"""Reports: answers to research questions computed from the labels (agreement, leaderboards, ...)."""
