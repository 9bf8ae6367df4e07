"""Profile -> 0..100 relevance scores with reasons. Pure and deterministic: no I/O, no network, no clock.

How a score is made
-------------------
1. The profile is compiled once per call into *concepts*: each ``[profile.keywords]`` key is one concept
   whose ``|``-separated variants are phrases; the free-text description adds more concepts (Chinese field
   terms via a small glossary, English/Latin phrases via RAKE-style splitting on stop words); ``exclude``
   phrases are concepts that push down. Phrases are matched on normalised tokens (case folded, hyphens =
   spaces, light suffix stemming so ``dehaze``/``dehazing``/``dehazed`` agree). Short upper-case variants
   (``SR``, ``MAE``, ``DiT``) are acronyms and match only as that exact word in the original text.
2. Per concept, a BM25F-style pseudo term frequency combines the fields (title counts ``TITLE_WEIGHT`` times
   an abstract hit, a hit in the abstract's first sentence counts ``1 + FIRST_SENTENCE_WEIGHT`` times, HF
   keywords count once each; the abstract is length-normalised against a *fixed* typical length) and
   saturates as ``tf / (tf + K1)``. The concept contributes ``weight * saturation``; negative weights
   (off-profile context such as video generation or LLM agents) subtract.
   A word that another concept uses as a modifier in a longer phrase ("denoising" in "denoising steps") is
   ambiguous; when a paper uses that longer phrase, ``SENSE_SHARE`` of the word's hits go to the other concept
   (one sense per discourse).
3. Priors (HF upvotes on a log scale, a linked code repository) are small and gated by topical relevance, so
   they reorder relevant papers but cannot lift an off-topic one. Followed authors add a fixed lift.
4. The raw relevance ``R`` maps to a score with a fixed saturating function ``100 * (1 - exp(-R / TAU))``.
   No statistic of the batch enters a paper's score, so a score means the same from day to day and a paper
   scores the same whatever else is in the batch.
5. Exclusions multiply the final score by ``EXCLUDE_FACTOR``.

Every contribution is reported as a :class:`~paper_digest.models.ScoreReason`; the points of the reasons add
up to the score (positive contributions share the pre-penalty score in proportion to their raw weight).

Modules: :mod:`.text` (tokens, stemming, description terms), :mod:`.profile` (compiling a profile),
:mod:`.score` (matching and scoring)."""

from .score import score_papers, top_unique

__all__ = ["score_papers", "top_unique"]
