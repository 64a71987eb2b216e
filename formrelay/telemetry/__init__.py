"""What operators see of the functions: metrics (CloudWatch EMF) and traces (X-Ray)."""
