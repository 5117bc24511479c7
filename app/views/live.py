"""Live: the webcam through streamlit-webrtc, each face boxed with its smoothed age, fps and per-stage latency."""
import time

import streamlit as st
from resources import get_explainer, network_choice_offered, real_server, require_predictor

from dldl_core.ui.live import LiveProcessor, gradcam_function
from dldl_core.ui.tracking import FaceTracker

st.title("Live age estimation")
st.write("Every face in the webcam video is boxed with its estimated age +- one standard deviation of the predicted "
         "distribution. Faces are tracked from frame to frame and each track's distribution is averaged over time, "
         "so the number settles instead of flickering.")

predictor = require_predictor()
left, mid, right = st.columns(3)
half_life = left.slider("Smoothing half-life (s)", 0.0, 3.0, 0.6, 0.1, key="live_half_life",
                        help="How long a frame keeps half of its weight in a track's distribution; 0 = no smoothing.")
tta = mid.toggle("Flip test-time augmentation", value=True, key="live_tta",
                 help="Average the prediction of the frame and of its mirror image (twice the network cost).")
cam_on = right.toggle("Grad-CAM overlay", value=False, key="live_cam",
                      help="Colour the largest face by where the network looks for its expected age.")

# One per browser session (it holds that stream's tracks), made anew when the sidebar's network changes.
if getattr(st.session_state.get("live_processor"), "predictor", None) is not predictor:
    st.session_state.live_processor = LiveProcessor(predictor, FaceTracker(half_life=half_life))
    st.session_state.pop("live_cam_settings", None)
processor: LiveProcessor = st.session_state.live_processor
processor.tracker.half_life = half_life
processor.tta = tta
if cam_on:
    c1, c2, _ = st.columns(3)
    cam_method = c1.selectbox("CAM method", ["gradcam", "gradcam++", "layercam", "eigencam"], key="live_cam_method")
    cam_target = c2.selectbox("The overlay shows", ["expected", "younger"], key="live_cam_target",
                              format_func={"expected": "what makes the face look older",
                                           "younger": "what makes it look younger"}.get)
    if st.session_state.get("live_cam_settings") != (cam_method, cam_target):
        processor.cam = gradcam_function(predictor, cam_method, cam_target, explainer=get_explainer())
        st.session_state.live_cam_settings = (cam_method, cam_target)
processor.cam_enabled = cam_on


def video_frame_callback(frame):
    """Runs in streamlit-webrtc's worker thread: an av.VideoFrame in, the annotated frame out."""
    import av

    rgb = frame.to_ndarray(format="rgb24")
    out = av.VideoFrame.from_ndarray(processor.process(rgb), format="rgb24")
    out.pts, out.time_base = frame.pts, frame.time_base
    return out


stats_box = st.empty()
if real_server():
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    ctx = webrtc_streamer(
        key="live_webrtc", mode=WebRtcMode.SENDRECV, video_frame_callback=video_frame_callback,
        media_stream_constraints={"video": {"width": {"ideal": 640}, "height": {"ideal": 480}}, "audio": False},
        rtc_configuration={"iceServers": []},  # local connections only: no STUN/TURN server is contacted
        async_processing=True)
else:
    st.info("The webcam stream needs the Streamlit server (streamlit run); it is not available in this runner.")
    ctx = None


def show_stats() -> None:
    stats = processor.stats()
    with stats_box.container():
        cols = st.columns(4)
        cols[0].metric("Frames per second", f"{stats.fps:.1f}")
        cols[1].metric("Frames processed", stats.frames)
        cols[2].metric("Faces", len(stats.tracks))
        cols[3].metric("Total latency (ms)", f"{stats.latency_ms.get('total', 0.0):.1f}")
        if stats.latency_ms:
            st.caption("Per-stage latency (moving average, ms): " + ", ".join(
                f"{name.replace('_', ' + ')} {ms:.1f}" for name, ms in stats.latency_ms.items() if name != "total"))
        if stats.tracks:
            st.dataframe([{"track": t["id"], "age (smoothed)": t["age"], "std": t["std"], "age (this frame)":
                           t["raw_age"]} for t in stats.tracks], hide_index=True)


show_stats()
switch_hint = " (the sidebar picks another: the fastest suits a small laptop)" if network_choice_offered() else ""
st.caption(f"Network {predictor.weights.path.name} on {predictor.device.type.upper()}{switch_hint}; the frame "
           "callback takes the newest frame and drops the "
           "ones that arrive while it is busy, so the video never lags behind the camera.")
# Refresh the statistics while the stream runs; any widget change reruns the page and so ends this loop.
while ctx is not None and ctx.state.playing:
    time.sleep(0.5)
    show_stats()
