"""Live: the webcam first and large, each face boxed with its smoothed age; the numbers beside the video, the settings
below it. A sidebar switch gives a simple view for an audience: the video, big ages and one sentence."""
import time

import streamlit as st
from resources import get_explainer, network_choice_offered, real_server, require_predictor

from dldl_core.pipeline.face import MIN_CONFIRMATION, NEAR_CONFIRMATION
from dldl_core.pipeline.predictor import Predictor
from dldl_core.ui.annotate import age_label, interval_label
from dldl_core.ui.live import MEASURED_OVERLAY_COST, LiveProcessor, LiveStats, gradcam_function, track_table
from dldl_core.ui.tracking import FaceTracker

# Every setting lives in session state under its widget's key, so it survives while the simple view hides it.
SETTINGS = {"live_min_confirmation": MIN_CONFIRMATION, "live_half_life": 0.6, "live_tta": True, "live_cam": False,
            "live_cam_method": "gradcam", "live_cam_target": "expected"}
REFRESH_S = 1.0  # how often the numbers beside the video are read while the stream runs (the table half as often)
TABLE_HEIGHT = 180  # px: the track table scrolls instead of growing
MEANING = ("The number on each face is the age the computer reads from that face alone; the ± part is how unsure it "
           "is.")
DETAIL = ("Each face is boxed with its estimated age ± one standard deviation of the predicted distribution, averaged "
          "over the last frames of its track so the number settles instead of flickering.")


def keep_settings() -> None:
    """Give every setting its default once and keep it while its widget is not drawn."""
    for key, default in SETTINGS.items():
        st.session_state[key] = st.session_state.get(key, default)


def session_processor(predictor: Predictor) -> LiveProcessor:
    """This browser session's frame loop (it holds the stream's tracks), made anew when the network changes."""
    if getattr(st.session_state.get("live_processor"), "predictor", None) is not predictor:
        st.session_state.live_processor = LiveProcessor(predictor, FaceTracker())
        st.session_state.pop("live_cam_settings", None)
    return st.session_state.live_processor


def apply_settings(processor: LiveProcessor, predictor: Predictor, simple: bool) -> None:
    """The settings in session state -> the frame loop; the simple view draws no Grad-CAM overlay."""
    state = st.session_state
    processor.min_confirmation = state.live_min_confirmation
    processor.tracker.half_life = state.live_half_life
    processor.tta = state.live_tta
    processor.cam_enabled = state.live_cam and not simple
    cam_settings = (state.live_cam_method, state.live_cam_target)
    if processor.cam_enabled and state.get("live_cam_settings") != cam_settings:
        processor.cam = gradcam_function(predictor, *cam_settings, explainer=get_explainer())
        state.live_cam_settings = cam_settings


def video(processor: LiveProcessor):
    """The webcam stream through ``processor``; None (after a note in its place) outside the Streamlit server."""
    if not real_server():
        st.info("The webcam stream needs the Streamlit server (streamlit run); it is not available in this runner.")
        return None
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    def video_frame_callback(frame):
        """Runs in streamlit-webrtc's worker thread: an av.VideoFrame in, the annotated frame out."""
        import av

        out = av.VideoFrame.from_ndarray(processor.process(frame.to_ndarray(format="rgb24")), format="rgb24")
        out.pts, out.time_base = frame.pts, frame.time_base
        return out

    return webrtc_streamer(
        key="live_webrtc", mode=WebRtcMode.SENDRECV, video_frame_callback=video_frame_callback,
        media_stream_constraints={"video": {"width": {"ideal": 640}, "height": {"ideal": 480}}, "audio": False},
        rtc_configuration={"iceServers": []},  # local connections only: no STUN/TURN server is contacted
        async_processing=True)


def follow_stream(processor: LiveProcessor, playing: bool) -> None:
    """Start and stop both clear the tracks and figures, so a stopped page never shows the last ones as live."""
    if st.session_state.get("live_was_playing", False) != playing:
        processor.reset()
    st.session_state.live_was_playing = playing


def show_faces(stats: LiveStats, simple: bool) -> None:
    """Each face of the latest frame in large type; the full view adds its interval and detection score."""
    if not stats.faces:
        st.markdown("No face in view.")
    for i, face in enumerate(stats.faces, 1):
        st.metric(f"Face {i}" if simple else f"Face {i} (track {face.track_id})", age_label(face.age, face.std))
        if face.grainy:
            st.caption(":orange[Grainy, as in a dim room: this estimate is less reliable and may be too old (grain "
                       "can read as aged skin). More light helps.]")
        if not simple:
            st.caption(f"90 % interval {interval_label(*face.interval90)} · detection score {face.score:.2f}")


def show_loop(stats: LiveStats) -> None:
    """The loop's speed: frames per second, the time of a frame and of each stage."""
    latency = stats.latency_ms
    st.markdown(f"**Live** · {stats.fps:.1f} fps · {latency.get('total', 0.0):.0f} ms a frame")
    if latency:
        st.caption("Per stage (ms, moving average): " + ", ".join(
            f"{name.replace('_', ' + ')} {ms:.1f}" for name, ms in latency.items() if name != "total"))


def numbers_panel(processor: LiveProcessor, playing: bool, simple: bool) -> None:
    """Beside the video: each face's numbers and the loop's speed, read again every REFRESH_S while it runs."""

    @st.fragment(run_every=REFRESH_S if playing else None)
    def panel() -> None:
        if not playing:
            st.markdown("**Stopped.** Press START under the video to run the camera.")
        else:
            stats = processor.stats()
            show_faces(stats, simple)
            if not simple:
                show_loop(stats)
        st.button("Reset tracks", key="live_reset", on_click=processor.reset,
                  help="Forget the faces followed so far and start again.")

    panel()


def track_history(processor: LiveProcessor, playing: bool) -> None:
    """Under the video: the last tracks of this stream, in a table of fixed height."""

    @st.fragment(run_every=2 * REFRESH_S if playing else None)
    def table() -> None:
        stats = processor.stats()
        if playing and stats.recent:
            st.dataframe(track_table(stats.recent, time.monotonic()), hide_index=True, height=TABLE_HEIGHT)

    table()


def settings_panel(processor: LiveProcessor) -> None:
    """The settings, under the video; they take effect on the next frame."""
    with st.expander("Settings", expanded=False):
        left, mid, right = st.columns(3)
        left.slider("Face detection threshold", 0.0, 1.0, step=0.05, key="live_min_confirmation",
                    help="The score a face needs when the detector looks at it a second time, upright and centred "
                         f"(at or below the default, up to {NEAR_CONFIRMATION:.1f} less when its first look was "
                         "sure of it); lower finds more faces and more things that are not faces, 0 skips the second "
                         "look. "
                         f"The library's default is {MIN_CONFIRMATION}.")
        left.slider("Smoothing half-life (s)", 0.0, 3.0, step=0.1, key="live_half_life",
                    help="How long a frame keeps half of its weight in a track's distribution; 0 = no smoothing.")
        mid.toggle("Flip test-time augmentation", key="live_tta",
                   help="Average the prediction of the frame and of its mirror image (twice the network cost).")
        cost = (processor.overlay_cost() or MEASURED_OVERLAY_COST).sentence()
        mid.toggle("Grad-CAM overlay", key="live_cam",
                   help=f"Colour the largest face, inside its box, by where the network looks. {cost}")
        mid.caption(f"Grad-CAM overlay: {cost}")
        if st.session_state.live_cam:
            right.selectbox("CAM method", ["gradcam", "gradcam++", "layercam", "eigencam"], key="live_cam_method")
            right.selectbox("The overlay shows", ["expected", "younger"], key="live_cam_target",
                            format_func={"expected": "what makes the face look older",
                                         "younger": "what makes it look younger"}.get)


st.title("Live age estimation")
predictor = require_predictor()
simple = st.sidebar.toggle("Simple view", key="live_simple",
                           help="For an audience: the video with big ages and one sentence; no settings or figures.")
keep_settings()
processor = session_processor(predictor)
apply_settings(processor, predictor, simple)
video_column, numbers_column = st.columns([3, 1], gap="medium")
with video_column:
    ctx = video(processor)
    playing = ctx is not None and ctx.state.playing
    follow_stream(processor, playing)
    st.caption(MEANING if simple else DETAIL)
    if not simple:
        track_history(processor, playing)
with numbers_column:
    numbers_panel(processor, playing, simple)
if not simple:
    settings_panel(processor)
    switch_hint = " (the sidebar picks another: the fastest suits a small laptop)" if network_choice_offered() else ""
    st.caption(f"Network {predictor.weights.path.name} on {predictor.device.type.upper()}{switch_hint}; the frame "
               "callback takes the newest frame and drops the ones that arrive while it is busy, so the video never "
               "lags behind the camera.")
