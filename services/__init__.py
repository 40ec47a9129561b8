"""What the routes (and the CLI) do, without HTTP: enrollments, deployments, Tellescope journey
records, webhook verification, the ledger in Tellescope's shape. Failures are the domain errors of
`services.errors`; `api.errors` turns them into HTTP answers, the CLI into messages."""
