"""What the routes (and the CLI) do, without HTTP: enrollments, deployments, Tellescope journey
records, webhook verification, the ledger in Tellescope's shape."""
