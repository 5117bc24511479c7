"""Learn: label distribution learning step by step, from the label distribution to a short live training."""
from pathlib import Path

import streamlit as st
import torch
from resources import default_data_dir

from dldl_core.maths import labels
from dldl_core.ui import plots, teaching

SUPPORT = labels.age_support(0, 100, 101)
DEFAULT_DATA = default_data_dir()

st.title("Learn: label distribution learning")
st.write("DLDL-v2 does not train the network on one number per face. Each true age y becomes a *label "
         "distribution* over the ages l_k; the network predicts a distribution p_hat over the same ages, is trained "
         "to match it (KL divergence) and to get its expectation right (L1), and reports the expectation as the age.")

st.header("1. The Gaussian label distribution")
c1, c2 = st.columns(2)
age = c1.slider("True age y", 0, 100, 30, key="learn_age")
sigma = c2.slider("Label std sigma", 0.5, 10.0, 2.0, 0.5, key="learn_sigma",
                  help="Annotator uncertainty: ChaLearn gives one per image; a constant (2) elsewhere.")
target = labels.gaussian_label_distribution(torch.tensor([float(age)]), SUPPORT, sigma)  # (1, K)
left, right = st.columns(2)
left.plotly_chart(plots.label_distribution_figure(SUPPORT.numpy(), target[0].numpy(), age, sigma),
                  key="learn_label_chart")
steps = labels.ranking_targets(torch.tensor([float(age)]), SUPPORT)[0].numpy()
one_minus_cdf = labels.ranking_from_distribution(target)[0].numpy()
right.plotly_chart(plots.ranking_figure(SUPPORT.numpy(), steps, one_minus_cdf), key="learn_ranking_chart")
st.caption(f"A Ranking-CNN trains K-1 binary classifiers 'age > l_k'; their targets are 1 - CDF of a step label "
           f"distribution. With a Gaussian label distribution they become 1 - its CDF: ranking is label distribution "
           f"learning in disguise. Summing 1 - CDF gives the expectation: {one_minus_cdf.sum():.2f} "
           f"(E[p] = {float(labels.expectation(target, SUPPORT)[0]):.2f}).")

st.header("2. Loss terms of a prediction, and their gradients")
st.write("Shape a predicted distribution with the sliders. The KL term compares whole distributions; the L1 term "
         "only looks at the expectation. A two-humped prediction can have the right expectation (L1 = 0) and still a "
         "large KL, which is why DLDL-v2 uses both.")
c1, c2, c3, c4 = st.columns(4)
pred_mean = c1.slider("Predicted centre", 0, 100, 36, key="learn_pred_mean")
pred_std = c2.slider("Predicted spread", 1.0, 15.0, 4.0, 0.5, key="learn_pred_std")
second_mean = c3.slider("Second hump at", 0, 100, 60, key="learn_second_mean")
second_weight = c4.slider("Second hump weight", 0.0, 1.0, 0.0, 0.05, key="learn_second_weight")
c1, c2 = st.columns(2)
lam = c1.slider("lambda (weight of L1)", 0.0, 5.0, 1.0, 0.1, key="learn_lambda")
wrt = c2.radio("Gradient with respect to", ["logits", "probabilities"], horizontal=True, key="learn_wrt",
               help="Logits z with p_hat = softmax(z) is what back-propagation sends into the network.")
prediction = teaching.editable_distribution(SUPPORT, pred_mean, pred_std, second_mean, second_weight)
terms = teaching.loss_terms(prediction, age, sigma, SUPPORT, lam, wrt)
m = st.columns(5)
m[0].metric("KL(p || p_hat)", f"{terms.kl:.3f}")
m[1].metric("|E[p_hat] - y|", f"{terms.l1:.2f}")
m[2].metric("Cross-entropy", f"{terms.cross_entropy:.3f}")
m[3].metric(f"KL + {lam:g} L1", f"{terms.total:.3f}")
m[4].metric("E[p_hat]", f"{terms.expectation:.1f}")
left, right = st.columns(2)
left.plotly_chart(plots.prediction_vs_target_figure(SUPPORT.numpy(), target[0].numpy(), prediction.numpy(), age,
                                                    terms.expectation), key="learn_prediction_chart")
right.plotly_chart(plots.gradient_figure(SUPPORT.numpy(), terms.gradients, f"Gradients w.r.t. the {wrt}"),
                   key="learn_gradient_chart")
st.caption("KL and cross-entropy differ by the entropy of p, a constant, so their gradients coincide. Gradient "
           "descent moves each bin against its gradient: w.r.t. the logits, KL gives p_hat - p; L1 gives "
           "sign(E - y) p_hat_k (l_k - E), which shifts mass towards the true age wherever the mass is.")

st.header("3. A short training: KL only vs KL + L1")
st.write("Two TinyAgeNets start from the same weights and see the same batches; one is trained with KL only "
         "(DLDL), the other with KL + L1 of the expectation (DLDL-v2). Their validation MAE is drawn as they learn.")
c1, c2 = st.columns(2)
data_dir = c1.text_input("Image folder", str(DEFAULT_DATA / "images"), key="learn_data")
manifest = c2.text_input("Manifest (CSV with file,age[,split])", str(DEFAULT_DATA / "manifest.csv"),
                         key="learn_manifest")
c1, c2, c3 = st.columns(3)
n_faces = c1.number_input("Faces", 20, 2000, 300, 20, key="learn_faces")
n_steps = c2.number_input("Steps per objective", 2, 500, 60, 2, key="learn_steps")
size = c3.selectbox("Input size", [32, 64], key="learn_size", help="32 pixels trains about 4x faster than 64.")


@st.cache_data(show_spinner="Reading faces...", max_entries=4)
def read_faces(data_dir: str, manifest: str, limit: int, size: int) -> teaching.FaceSet:
    return teaching.load_face_set(data_dir, manifest, limit=limit, input_size=size)


if not (Path(data_dir).is_dir() and Path(manifest).is_file()):
    st.info("No training data here: point the two fields to an image folder and its manifest (for example UTKFace's "
            "images/ and manifest.csv) to run the comparison.")
elif st.button("Train both", key="learn_train", type="primary"):
    try:
        faces = read_faces(data_dir, manifest, int(n_faces), int(size))
    except (ValueError, OSError) as err:
        st.error(f"The faces could not be read: {err}.")
        st.stop()
    chart, status = st.empty(), st.empty()
    history = []
    config = teaching.MiniTrainConfig(steps=int(n_steps), eval_every=max(1, int(n_steps) // 15))
    for record in teaching.compare_objectives(faces, ("dldl", "dldl_v2"), config):
        history.append(record)
        if "val_mae" in record and record["objective"] == "dldl_v2":
            chart.plotly_chart(plots.training_figure(history), key=f"learn_train_chart_{record['step']}")
            status.caption(f"step {record['step']} / {config.steps} on {int((~faces.val).sum())} training and "
                           f"{int(faces.val.sum())} validation faces")
    st.session_state.learn_history = history
    st.rerun()
if st.session_state.get("learn_history"):
    history = st.session_state.learn_history
    st.plotly_chart(plots.training_figure(history), key="learn_train_chart")
    last = {r["objective"]: r["val_mae"] for r in history if "val_mae" in r}
    st.write("Final validation MAE: " + ", ".join(f"**{k}** {v:.2f}" for k, v in last.items()) +
             ". With so few steps the numbers are noisy; what to look for is that the L1 term pulls the expectation "
             "towards the right age from the first steps on, while KL alone first has to shape the whole "
             "distribution.")
