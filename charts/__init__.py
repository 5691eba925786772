"""Pure Plotly figure builders: engine results in, go.Figure out."""
