"""What a call tells the rest of the process while it runs: typed call events."""
