"""Learn: label distribution learning step by step, from the label distribution to a short training of two heads.

Each interactive part is a fragment: its sliders rerun that part alone, never the page.
"""
import time
from pathlib import Path

import numpy as np
import streamlit as st
import torch
from resources import dataset_inputs, path_refusal, weights_path

from dldl_core.models.weights import Weights, WeightsError, load_weights, read_sidecar
from dldl_core.ui import plots, teaching
from dldl_core.ui.feature_cache import FeatureSet, load_features
from dldl_core.ui.head_training import (
    OBJECTIVE_NAMES,
    SMALL_VALIDATION,
    HeadComparison,
    HeadConfig,
    summarise,
)

CHUNK_SECONDS = 0.6  # training time per rerun of the training fragment, between which Stop is honoured
SIGMAS = np.linspace(0.5, 10.0, 96)


@st.cache_data(show_spinner=False)
def network_support(path: str) -> np.ndarray:
    """The ages l_k of the network in use (the shipped one: 0..116 in 117 bins)."""
    return np.asarray(read_sidecar(path)["support"], np.float64)


@st.cache_resource(show_spinner=False)
def frozen_network(path: str) -> Weights:
    """The network in use, loaded once per process for its features (it is never trained here)."""
    return load_weights(path)


@st.cache_data(show_spinner=False, max_entries=4)
def cached_features(weights: str, data: str, manifest: str, limit: int, manifest_mtime: int) -> FeatureSet:
    """The network's features of ``limit`` faces; ``manifest_mtime`` only keys the cache to the manifest's version."""
    return load_features(frozen_network(weights), data, manifest, limit)


st.title("Learn: label distribution learning")
try:
    SUPPORT = torch.from_numpy(network_support(str(weights_path())))
except (WeightsError, KeyError) as err:
    st.warning(f"The network in use could not be read ({err}); the ages here are the shipped network's, 0 to 116.")
    SUPPORT = torch.arange(117, dtype=torch.float64)
TOP = int(SUPPORT[-1])
st.write("DLDL-v2 does not train the network on one number per face. Each true age y becomes a *label "
         "distribution* over the ages l_k; the network predicts a distribution p_hat over the same ages, is trained "
         f"to match it (KL divergence) and to get its expectation right (L1), and reports the expectation as the age. "
         f"The ages here are those of the network in use: {SUPPORT[0]:g} to {TOP} in {len(SUPPORT)} bins.")


@st.fragment
def label_distribution_part() -> None:
    """The Gaussian label distribution, and how cutting it at the ends of the support moves its mean."""
    st.latex(teaching.FORMULAS["label"])
    c1, c2 = st.columns(2)
    age = c1.slider("True age y", 0, TOP, 30, key="learn_age", persist_state="session")
    sigma = c2.slider("Label std sigma", 0.5, 10.0, 2.0, 0.5, key="learn_sigma", persist_state="session",
                      help="Annotator uncertainty: ChaLearn gives one per image; a constant (2) elsewhere.")
    target = teaching.editable_distribution(SUPPORT, age, sigma)
    means = teaching.label_means(SUPPORT, sigma)
    left, right = st.columns(2)
    left.plotly_chart(plots.label_distribution_figure(SUPPORT.numpy(), target.numpy(), age, sigma),
                      key="learn_label_chart")
    right.plotly_chart(plots.label_mean_figure(SUPPORT.numpy(), means, age, sigma), key="learn_edge_chart")
    here = np.interp(age, SUPPORT.numpy(), means)
    st.caption(f"The Gaussian is cut at both ends of the support ({SUPPORT[0]:g} and {TOP}) and renormalised, so near "
               f"the ends its mean moves inward: with sigma = {sigma:g} the label of a newborn has mean "
               f"{means[0]:.2f} instead of 0 and that of a {TOP}-year-old {means[-1]:.2f}; here E[p] = {here:.2f} "
               f"for y = {age}. A network trained on these labels learns expectations pulled away from the ends, the "
               "more so the larger sigma.")


st.header("1. The Gaussian label distribution")
label_distribution_part()


@st.fragment
def ranking_part() -> None:
    """Ranking-CNN's K-1 binary targets against 1 - CDF of the label distribution, with their own sliders."""
    st.latex(teaching.FORMULAS["ranking"])
    c1, c2 = st.columns(2)
    age = c1.slider("True age y", 0, TOP, 45, key="learn_rank_age", persist_state="session")
    sigma = c2.slider("Label std sigma", 0.5, 10.0, 4.0, 0.5, key="learn_rank_sigma", persist_state="session")
    encoding = teaching.ranking_encoding(age, sigma, SUPPORT)
    st.plotly_chart(plots.ranking_figure(SUPPORT.numpy(), encoding.steps, encoding.one_minus_cdf),
                    key="learn_ranking_chart")
    st.caption(f"A Ranking-CNN trains K-1 = {len(encoding.steps)} binary classifiers 'age > l_k'; their targets "
               f"[y > l_k] are 1 - CDF of a step label distribution at y. With a Gaussian label distribution they "
               f"become 1 - its CDF, a smooth ramp as wide as sigma: ranking is label distribution learning in "
               f"disguise. Summing 1 - CDF gives the expectation: {encoding.expectation:.2f} for y = {age} (the ends "
               f"of the support move it, as above).")


st.header("2. Ranking is label distribution learning: 1 - CDF")
ranking_part()


def loss_inputs() -> dict:
    """The sliders of the loss part: the true age, sigma, the predicted distribution's shape and lambda."""
    c1, c2, c3 = st.columns(3)
    values = {"age": c1.slider("True age y", 0, TOP, 30, key="learn_loss_age", persist_state="session"),
              "sigma": c2.slider("Label std sigma", 0.5, 10.0, 2.0, 0.5, key="learn_loss_sigma",
                                 persist_state="session"),
              "lam": c3.slider("lambda (weight of L1)", 0.0, 5.0, 1.0, 0.1, key="learn_lambda",
                               persist_state="session")}
    c1, c2, c3, c4 = st.columns(4)
    values["mean"] = c1.slider("Predicted centre", 0, TOP, 36, key="learn_pred_mean", persist_state="session")
    values["std"] = c2.slider("Predicted spread", 1.0, 15.0, 4.0, 0.5, key="learn_pred_std", persist_state="session")
    values["second_mean"] = c3.slider("Second hump at", 0, TOP, 60, key="learn_second_mean", persist_state="session")
    values["second_weight"] = c4.slider("Second hump weight", 0.0, 1.0, 0.0, 0.05, key="learn_second_weight",
                                        persist_state="session")
    return values


@st.fragment
def loss_part() -> None:
    """The loss terms of an editable prediction, their gradients w.r.t. the logits, and the loss against sigma."""
    for name in ("expectation", "kl_l1", "dldl_v2", "gradients"):
        st.latex(teaching.FORMULAS[name])
    v = loss_inputs()
    prediction = teaching.editable_distribution(SUPPORT, v["mean"], v["std"], v["second_mean"], v["second_weight"])
    terms = teaching.loss_terms(prediction, v["age"], v["sigma"], SUPPORT, v["lam"])
    m = st.columns(6)
    m[0].metric("KL(p || p_hat)", f"{terms.kl:.3f}")
    m[1].metric("|E[p_hat] - y|", f"{terms.l1:.2f}")
    m[2].metric("Cross-entropy", f"{terms.cross_entropy:.3f}")
    m[3].metric(f"KL + {v['lam']:g} L1", f"{terms.total:.3f}")
    m[4].metric("E[p_hat]", f"{terms.expectation:.1f}")
    m[5].metric("median of p_hat", f"{terms.median:.1f}")
    if note := teaching.l1_note(terms):
        st.info(note)
    target = teaching.editable_distribution(SUPPORT, v["age"], v["sigma"])
    left, right = st.columns(2)
    left.plotly_chart(plots.prediction_vs_target_figure(SUPPORT.numpy(), target.numpy(), prediction.numpy(), v["age"],
                                                        terms.expectation), key="learn_prediction_chart")
    right.plotly_chart(plots.gradient_figure(SUPPORT.numpy(), terms.gradients, "Gradients w.r.t. the logits z"),
                       key="learn_gradient_chart")
    peak = teaching.probability_gradient_peak(prediction, v["age"], v["sigma"], SUPPORT)
    st.caption("The gradients are those the network's last layer receives, w.r.t. the logits z: KL gives p_hat - p, "
               "bounded by 1; L1 gives sign(E - y) p_hat_k (l_k - E), which shifts mass towards the true age wherever "
               "the mass is. W.r.t. the probabilities themselves KL's gradient is -p_k / p_hat_k: here it reaches "
               f"{-peak:.3g}, and it has no bound where the label has mass and the prediction almost none (move the "
               "prediction away from y to see it pass -1e9); the softmax never passes that on to the network. KL and "
               "cross-entropy differ by the entropy of p, a constant, so their gradients coincide.")
    curves = teaching.loss_versus_sigma(prediction, v["age"], SUPPORT, SIGMAS, v["lam"])
    st.plotly_chart(plots.sigma_loss_figure(SIGMAS, {"KL": curves["KL"], f"KL + {v['lam']:g} L1": curves["total"]},
                                            v["sigma"]), key="learn_sigma_chart")
    st.caption("The same prediction scored against label distributions of every sigma: KL is smallest where the "
               "label is about as wide as the prediction, so sigma sets how sure the network is taught to be; L1 "
               "does not depend on sigma and only shifts the total.")


st.header("3. Loss terms of a prediction, and their gradients")
st.write("Shape a predicted distribution with the sliders. The KL term compares whole distributions; the L1 term "
         "only looks at the expectation. A two-humped prediction can have the right expectation (L1 = 0) and still a "
         "large KL, which is why DLDL-v2 uses both. The estimate is the expectation; the median beside it parts "
         "from it when the prediction is skewed (put the centre near 0) or has two humps. On the val faces the "
         "shipped network's medians err a twenty-fifth of a year less than its expectations, mostly on children, "
         "whose predictions lean right against age 0 (model card); the product keeps the expectation, the value "
         "the L1 term trains and the explanations explain.")
loss_part()


def request_stop() -> None:
    st.session_state.learn_stop = True


def data_inputs() -> tuple[str, str, int, int, int]:
    """Where the faces are (UTKFace where the project keeps it, unless typed) and the size of the run."""
    data, manifest = dataset_inputs("learn")
    c1, c2, c3 = st.columns(3)
    faces = c1.number_input("Faces", 20, 5000, 600, 20, key="learn_faces", persist_state="session",
                            help="A quarter are validation faces (from the manifest's val split where it has one).")
    steps = c2.number_input("Steps per head", 10, 2000, 300, 10, key="learn_steps", persist_state="session")
    seeds = c3.number_input("Seeds", 1, 5, 3, key="learn_seeds",
                            persist_state="session", help="Each seed trains both heads from its own "
                            "initial weights and batch order; the spread over seeds shows how much of a gap these "
                            "alone make.")
    return data, manifest, int(faces), int(steps), int(seeds)


def start_training(data: str, manifest: str, faces: int, steps: int, seeds: int) -> None:
    """Check the paths, get the features (computed once, then cached) and set up the heads for the fragment."""
    problem = path_refusal(data, manifest)
    if not problem and not (data and Path(data).is_dir() and Path(manifest).is_file()):
        problem = ("Point the two fields to an image folder and its manifest (for example UTKFace's images/ and "
                   "manifest.csv) to run the comparison.")
    if problem:
        st.error(problem)
        return
    try:
        with st.spinner(f"Computing the network's features of {faces} faces (once; cached afterwards)..."):
            features = cached_features(str(weights_path()), data, manifest, faces, Path(manifest).stat().st_mtime_ns)
        comparison = HeadComparison(features, SUPPORT.float(), HeadConfig(steps=steps, seeds=tuple(range(seeds))))
    except (ValueError, OSError, WeightsError) as err:
        st.error(f"The faces could not be used: {err}.")
        return
    st.session_state.update(learn_comparison=comparison, learn_running=True, learn_stop=False)


def show_comparison(comparison: HeadComparison) -> None:
    """The curves, the final numbers per seed and the sentence they support."""
    summary = summarise(comparison)
    if summary.n_val < SMALL_VALIDATION:
        st.warning(f"Only {summary.n_val} validation faces: with fewer than {SMALL_VALIDATION} the comparison is "
                   "mostly chance (see the interval below). Use more faces.")
    median, baseline = comparison.baseline()
    left, right = st.columns(2)
    left.plotly_chart(plots.training_figure(comparison.history, "kl", "Training KL, the term both heads minimise",
                                            OBJECTIVE_NAMES, y_title="KL on the batch"), key="learn_loss_curves")
    right.plotly_chart(plots.training_figure(comparison.history, "val_mae", "Validation MAE while training",
                                             OBJECTIVE_NAMES, (f"median baseline ({median:.0f} y)", baseline),
                                             "val MAE (years)"), key="learn_mae_curves")
    st.dataframe([{"head": OBJECTIVE_NAMES[name], **{f"seed {seed}": round(mae, 2) for seed, mae in
                   zip(comparison.config.seeds, values)}, "mean": round(summary.mean(name), 2)}
                  for name, values in summary.final.items()], hide_index=True, key="learn_final_table")
    st.markdown(summary.sentence())
    st.caption(f"{summary.n_train} training and {summary.n_val} validation faces. DLDL minimises KL alone, DLDL-v2 "
               "KL + lambda L1, so it may give up some KL for a better expectation; both are judged by the "
               "validation MAE of their expectation.")


def training_part() -> None:
    """Trains for a chunk of time per run while training is on (the fragment reruns itself), then draws."""
    comparison = st.session_state.get("learn_comparison")
    if comparison is None:
        return
    running = st.session_state.get("learn_running", False)
    if running:
        st.button("Stop", key="learn_stop_button", on_click=request_stop)
        deadline = time.monotonic() + CHUNK_SECONDS
        comparison.train(lambda: st.session_state.get("learn_stop", False) or time.monotonic() > deadline)
        st.caption(f"Step {comparison.steps_done} of {comparison.config.steps}...")
    show_comparison(comparison)
    if running and (comparison.done or st.session_state.get("learn_stop", False)):
        st.session_state.learn_running = False
        st.rerun()  # the whole page, so that the fragment stops rerunning itself


st.header("4. A short training: KL only vs KL + lambda L1")
st.write("Two linear heads learn to read the age from the features the network in use computes before its own head "
         "(the network stays frozen, so a run takes seconds): one with KL only (DLDL), one with KL + lambda L1 of the "
         "expectation (DLDL-v2). For every seed both start from the same weights and see the same batches; the "
         "validation MAE is drawn as they learn, beside a baseline that predicts the median training age for everyone.")
inputs = data_inputs()
if st.button("Train both", key="learn_train", type="primary"):
    start_training(*inputs)
st.fragment(run_every=CHUNK_SECONDS * 2 if st.session_state.get("learn_running") else None)(training_part)()
