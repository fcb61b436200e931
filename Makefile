# The two commands a newcomer needs (see README.md):
#   make demo   set everything up, then run a simulated French call through the real pipeline
#   make test   set everything up, then run ruff, mypy and the whole test suite
VENV := .venv/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup demo test lint bench reliability i18n
setup:
	@bash scripts/setup.sh

demo: setup
	$(VENV)/voicebot demo

lint: setup
	$(VENV)/ruff check voicebot tests bench
	$(VENV)/ruff format --check voicebot tests bench
	$(VENV)/mypy
	$(VENV)/lint-imports --no-cache

test: lint
	VOICEBOT_TEST_POSTGRES_URL=$${VOICEBOT_TEST_POSTGRES_URL-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
	$(VENV)/pytest -q -n 2 --dist loadfile -m "not reliability"

# The long fault, load and fuzzing runs (docs/reliability.md); the fast part runs in `make test`.
reliability: setup
	VOICEBOT_TEST_POSTGRES_URL=$${VOICEBOT_TEST_POSTGRES_URL-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
	$(VENV)/pytest -q -m reliability tests/reliability

# Every figure of docs/benchmarks.md, in under 10 minutes (`make bench ARGS=--quick`: ~2).
bench: setup
	$(VENV)/python -m bench.run_all $(ARGS)

# After adding or changing a staff-facing text: refresh every catalogue from the sources,
# then translate the new entries (docs/decisions/i18n.md). setup compiles them.
i18n: setup
	$(VENV)/pybabel extract -F babel.cfg --no-location --sort-output -o .venv/messages.pot .
	$(VENV)/pybabel update -i .venv/messages.pot -d voicebot/i18n/locale --no-fuzzy-matching --ignore-obsolete
	$(VENV)/pybabel compile -d voicebot/i18n/locale --statistics
