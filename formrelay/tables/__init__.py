"""The Views table: the base its adapters share and every key it holds, built in one place."""
