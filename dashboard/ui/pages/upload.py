"""Upload page (``/upload``): store finished logs; then the Run page shows them (``/run?upload=<id>``).

After an upload the browser goes to ``/run?upload=<id>``: the address bar holds the permalink, and the run is
drawn by the same view as a live run. An old permalink ``/upload?upload=<id>[&r=k]`` goes there too.
"""

from __future__ import annotations

import logging

import streamlit as st

from dashboard.ui import common
from dashboard.uploads.store import UploadRejected
from dashboard.views import review
from dashboard.views.text import one_line, plain
from dashboard.views.url_state import from_query, parse_run_index

RUN_PAGE = "dashboard/ui/pages/run.py"

raw = common.query_dict()
index, r_notice = parse_run_index(raw.pop("r", None))
state, notices = from_query(raw)
if state.upload is not None:  # an old permalink: the Run page shows uploads
    st.switch_page(RUN_PAGE, query_params={"upload": state.upload, **({} if index is None else {"r": str(index)})})

st.title("Upload")
settings = common.settings()
common.show_notices(notices + ([r_notice] if r_notice else []))

st.markdown(
    "Upload a finished training log to review it and share it with a link: an MMEngine or mmcv text log "
    "(`.log`, `.txt`), a `scalars.json` or mmcv `.log.json`, or any of them gzip-compressed (`.gz`). "
    "Several files of one experiment (a log and its `scalars.json`, or the timestamped logs of a resumed run) "
    "can be uploaded together: they are reviewed as one run. A GPU log (`.csv` of `nvidia-smi --query-gpu` or "
    "`python -m dashboard gpu-log`) uploaded with the training log is shown beside it. "
    f"Limit: {settings.max_upload_mb} MB per file (after decompression)."
)
for note in settings.notes:
    st.text(note)

try:
    store = common.store(settings)
except OSError as e:  # e.g. MMDASH_UPLOAD_DIR points somewhere unwritable
    st.error("The upload store cannot be used, so uploads are off:")
    st.text(f"{one_line(str(settings.root), 300)}: {type(e).__name__}: {one_line(str(e.strerror or e), 300)}")
    st.stop()

files = st.file_uploader(
    "Training log files", type=list(review.UPLOAD_TYPES), accept_multiple_files=True, key="upload_files",
    max_upload_size=settings.max_upload_mb,
)

if files:
    signature = tuple((f.file_id, f.name, f.size) for f in files)
    done: dict = st.session_state.setdefault("_upload_outcomes", {})
    if signature not in done:
        try:
            with st.spinner("Checking that this is a training log and storing it (a big log takes a while)…"):
                contents = [(f.name, f.getvalue()) for f in files]
                try:
                    stored = store.add(contents)
                except OSError:  # the same bytes stored by another session at this moment: try once more
                    stored = store.add(contents)
        except UploadRejected as e:
            done[signature] = ("rejected", str(e))
        except Exception as e:  # a broken file must never take the server down; nothing was stored
            logging.getLogger("mmdash.upload").exception("upload failed")
            done[signature] = ("rejected", f"the upload could not be processed ({type(e).__name__})")
        else:
            done[signature] = ("stored", stored.id)
            common.remember_upload(stored.id, review.upload_title(stored.original_names))
            st.switch_page(RUN_PAGE, query_params={"upload": stored.id})
    outcome, value = done[signature]
    if outcome == "rejected":
        st.error("This upload was refused and nothing was stored:")
        st.text(plain(value, 2000))
    else:
        common.page_link("run", "Open the uploaded log", {"upload": value})

mine = common.session_uploads()
if mine:
    st.subheader("Your uploads in this session")
    for uid, title in mine.items():
        # A file name is user text: it goes to st.text, never into a link label (labels are Markdown).
        c = st.columns([1, 4])
        with c[0]:
            common.page_link("run", f"Open {uid[:8]}…", {"upload": uid})
        c[1].text(one_line(title, 200))
common.set_query({})
