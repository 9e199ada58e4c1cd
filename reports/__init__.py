"""Executive KPI, ROI/TCO and the monthly PDF dashboard."""
