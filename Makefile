# Thin wrappers; the README's two commands are ./bin/demo and ./bin/test.
.PHONY: demo test lint bench

demo:
	./bin/demo

test:
	./bin/test

lint:
	./bin/setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy .

bench:
	./bin/setup
	.venv/bin/python bench/run.py
