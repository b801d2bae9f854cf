"""Figures the chapters share, one module per topic (seaborn / matplotlib)."""
