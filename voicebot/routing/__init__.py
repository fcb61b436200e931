"""Routing: from what a caller said to an FAQ answer, a department, the operator, or nothing."""
