"""Programs: rosters, bulk issuance, cohorts and exports."""
