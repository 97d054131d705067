// The pod sandbox ("pause") process of the project's single-node test cluster.
module realtime.local/e2e/pause

go 1.26.0
