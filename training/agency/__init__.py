"""Onboarding an agency's own CAD history: import exports, weak labels from nature codes, label-error reports.

- `codes`: nature code -> label evidence (1, 0 or unknown), default APCO map plus agency overrides.
- `importer`: `import_export` reads an export through `divert.model.exports`, redacts, de-duplicates and writes
  the training format with the code's labels (unknown where the code says nothing).
- `weak`: combines the code labels with keyword rules and a champion's confident predictions (weights in the
  training config, `weak:`).
- `review`: out-of-fold label-error ranking, hidden behavioral-health calls per code, and loading the ranked rows
  into the audit store as review items.
- `generate`: the bundled generated export (`data/agency/`).
"""
