"""Analysis of trained runs: breakdowns, comparison with people, plots, reports, perturbations."""
