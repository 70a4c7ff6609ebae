"""Chart data and figures: train/eval frames, smoothing and downsampling (``series``), plotly figures (``figures``)."""
