"""The city's knowledge base: departments, FAQ entries, operator, loaded from YAML."""
