"""Face anatomy: the face frame, landmarks, muscles, injection sites and treatment areas."""

from rhytid.anatomy._face import Area, Face, Muscle, Site, reference_face

__all__ = ["Area", "Face", "Muscle", "Site", "reference_face"]
