"""meetings-as-code: GitOps for Exchange meetings.

The package is a library first and a CLI second: `loading` turns YAML into `model.Meeting` values,
`plan.build_plan` compares them with what a `port.Provider` observed, and `reconcile`
applies the resulting `plan.Plan`. Only `cli` prints or exits.
"""

__version__ = "0.1.0"
