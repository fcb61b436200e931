"""The staff pages, one router per page."""
