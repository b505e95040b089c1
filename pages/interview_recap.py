"""Interview recap: the four steps of a system-design interview against the clock, the back of the envelope,
and a recap of the experiments this session ran on the other pages, with one link that brings them back."""

import time

import pandas as pd
import streamlit as st

from lessons import interview_recap as L
from ui import export, headlines, page, stepper
from ui.ending import RECAP_KEY, Export, page_end
from ui.errors import boundary
from ui.params import PageParams

P = PageParams(L.PAGE_ID, L.PARAMS, L.PRESETS, L.DEFAULT_PRESET)
ss = st.session_state
TIMER, PLAY, BUNDLE = "recap._timer", "recap.timer", "recap._bundle"


def timer() -> L.Timer:
    return ss.get(TIMER, L.Timer())


def toggled() -> None:
    ss[TIMER] = timer().start(time.time) if ss[PLAY] else timer().stop(time.time)


def reset() -> None:
    ss[TIMER], ss[PLAY] = L.Timer(), False


def countdown() -> None:
    status = timer().status(time.time)
    st.progress(min(1.0, status.elapsed / (60 * L.TOTAL_MINUTES)))
    st.markdown(L.timer_sentence(status))


def tick() -> bool:
    """Once time is up, stop the clock and rerun the page: the toggle is switched off before it is drawn."""
    if timer().status(time.time).done:
        ss[TIMER] = timer().stop(time.time)
        st.rerun()
    return True


def experiment(e: L.Experiment, label: str, note: str | None = None) -> None:
    with st.container(border=True):
        st.markdown(L.line_markdown(e))
        st.page_link(e.topic.path, label=label, icon=":material/open_in_new:", query_params=dict(e.query))
        if note:
            st.caption(note)


page.start(L.TITLE, L.IDEA)
P.preset_row()

st.subheader("The clock")
if ss.get(PLAY) and (not timer().running or timer().status(time.time).done):
    ss[TIMER], ss[PLAY] = (
        timer().stop(time.time),
        False,
    )  # time ran out: the toggle goes off before it is drawn
c = st.columns([1.5, 1.2, 4])
c[0].toggle(
    f"Run the {L.TOTAL_MINUTES}-minute clock",
    key=PLAY,
    on_change=toggled,
    help="Counts down each step's time box. It ticks only while this is on (a ticking page reruns every second).",
)
c[1].button("Reset the clock", key="recap.reset", on_click=reset, icon=":material/restart_alt:")
c[2].caption(L.time_boxes())
stepper.animate(PLAY, countdown, tick, tick=1.0)

st.header(L.step_heading(0))
st.markdown(L.say_markdown(L.STEPS[0]))
for row in L.ESTIMATE_ROWS:
    for col, name in zip(st.columns(len(row)), row, strict=True):
        P.widget(name, col)
P.reset_button()
with boundary():
    est = L.estimates(P.values())
P.sync()
heads = L.estimate_headlines(est)
headlines.row(heads, arrow="off")
blocks = L.estimate_blocks(est)
for pair in (blocks[:2], blocks[2:]):
    for col, (what, lines) in zip(st.columns(2), pair, strict=True):
        col.markdown(f"**{what}**")
        col.code("\n".join(lines), language=None, wrap_lines=True)

st.header(L.step_heading(1))
st.markdown(L.say_markdown(L.STEPS[1]))
st.markdown("**What these numbers call for**\n\n" + "\n".join(f"- {n}" for n in L.design_notes(est)))

session = L.session_experiments(ss.get(RECAP_KEY, {}))
done = {e.page_id for e in session}
st.header(L.step_heading(2))
st.markdown(L.say_markdown(L.STEPS[2]))
for i in range(0, len(L.TOPICS), 3):
    for col, t in zip(st.columns(3), L.TOPICS[i : i + 3], strict=True):
        with col.container(border=True, height="stretch"):
            ran = t.page_id in done
            st.page_link(
                t.path, label=t.title, icon=":material/check_circle:" if ran else ":material/arrow_forward:"
            )
            st.caption(t.question + (" *In your recap below.*" if ran else ""))

st.header(L.step_heading(3))
st.markdown(L.say_markdown(L.STEPS[3]))
st.markdown("\n".join(f"- {L.wrap_up_markdown(p, session)}" for p in L.WRAP_UP))

st.header("Recap: the experiments of this session")
if P.value("bundle"):
    ss[BUNDLE] = P.value("bundle")  # kept for the session: choosing another preset clears the parameter
bundle = L.decode_bundle(ss.get(BUNDLE, ""))
for text in bundle.notices:
    st.warning(text, icon=":material/link_off:")
here = export.link_for({})
bundled = L.bundled_experiments(bundle, here)
if not session:
    st.info(L.NO_EXPERIMENTS_BUNDLED if bundled else L.NO_EXPERIMENTS, icon=":material/science:")
for e in session:
    experiment(e, f"Back to this experiment ({e.topic.title})")
if bundled:
    st.subheader("Experiments from the bundled link")
    for e in bundled:
        experiment(e, f"Restore this experiment ({e.topic.title})", None)
everything = L.merged(session, bundled)
token, left_out = L.encode_bundle(everything)
link = L.bundle_url(here, token) if token else None
if link:
    st.markdown("**Every experiment in one link**")
    st.caption(L.BUNDLE_HELP)
    st.code(link, language=None, wrap_lines=True)
    if left_out:
        st.warning(L.left_out_sentence(left_out), icon=":material/link_off:")
st.download_button(
    "Download the recap (Markdown)",
    data=L.recap_markdown(everything, link, est),
    file_name="interview_recap.md",
    mime="text/markdown",
    key="recap.markdown",
    on_click="ignore",
    icon=":material/download:",
)

page_end(
    P,
    title=L.TITLE,
    why=L.WHY,
    try_this=L.TRY_THIS,
    exports=(
        Export("Recap figures (CSV)", lambda: pd.DataFrame(L.recap_rows(everything)), "interview_recap.csv"),
    ),
    references=L.REFERENCES,
    headlines=heads,
)
