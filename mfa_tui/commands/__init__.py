"""One module per subcommand, each with `run(args) -> int`, imported only when chosen."""
