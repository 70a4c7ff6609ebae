"""Following logs as they grow: log roots and path safety, discovery, the tailer, the watcher, the demo replay,
and the process-wide state every browser session shares. No Streamlit."""
