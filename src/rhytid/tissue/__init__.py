"""Skin mechanics: strain from muscle activity, wrinkle formation, grading, expressions."""

from rhytid.tissue._basis import Basis, Segment, build_basis, get_basis, muscle_base
from rhytid.tissue._expressions import (
    EXPRESSIONS,
    activation_matrix,
    brow_point,
    frown_brow_displacement_mm,
)
from rhytid.tissue._parameters import (
    TissueParameters,
    load_tissue_parameters,
    sheet_material,
    tissue_parameters,
)
from rhytid.tissue._raster import Raster
from rhytid.tissue._sheet import SheetMaterial, SheetSolver, Tethers, solve_sheet
from rhytid.tissue._wrinkles import (
    Buckling,
    buckling,
    compression,
    compression_direction,
    dynamic_depth_um,
    fold_relaxation,
    grade_from_depth,
    static_depth_um,
)

__all__ = [
    "EXPRESSIONS",
    "Basis",
    "Buckling",
    "Raster",
    "Segment",
    "SheetMaterial",
    "SheetSolver",
    "Tethers",
    "TissueParameters",
    "activation_matrix",
    "brow_point",
    "buckling",
    "build_basis",
    "calibrate_skin_coupling",
    "compression",
    "compression_direction",
    "dynamic_depth_um",
    "fold_relaxation",
    "frown_brow_displacement_mm",
    "get_basis",
    "grade_from_depth",
    "load_tissue_parameters",
    "muscle_base",
    "sheet_material",
    "solve_sheet",
    "static_depth_um",
    "tissue_parameters",
]


def calibrate_skin_coupling(sex: str = "female") -> float:
    """The skin coupling that makes a maximal frown move the brow the measured distance.

    Fields are linear in the coupling, so one solve with the stored value suffices:
    ``c_new = c_stored × target / predicted`` (target: ``brow.frown_displacement_mm``).
    """
    from rhytid.anatomy import reference_face

    p = tissue_parameters()
    basis = build_basis(reference_face("female" if sex == "female" else "male"), use_disk=False)
    return p.skin_coupling * p.frown_displacement_mm / frown_brow_displacement_mm(basis, p)
