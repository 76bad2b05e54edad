"""The evaluation views by name, without TensorFlow (so a program can check them first).

The paper's test views (section 4.1) are the four corner patches and the centre one of the
256x256 image, each also reflected; `augment.crop_views` cuts them.
"""

from __future__ import annotations

# In augment.ten_crop_offsets order; a reflected view is named "<position>_reflected".
POSITIONS = ("top_left", "top_right", "bottom_left", "bottom_right", "centre")
VIEW_COUNTS = (1, 2, 10)  # evaluate --crops: centre; centre and its reflection; all ten


def view_names(crops: int, reflections: bool = True) -> tuple:
    """The views `crops` asks for: 1 the centre, 2 the centre and its reflection, 10 the
    paper's ten views. reflections=False (a model trained without them) drops the
    reflected ones: 10 gives the five unreflected patches; 2 is refused."""
    if crops not in VIEW_COUNTS:
        raise ValueError(f"crops must be 1, 2 or 10. Received: {crops}")
    if crops == 2 and not reflections:
        raise ValueError(
            "crops=2 is the centre and its reflection, and this model is evaluated without "
            "reflections: use crops=1 or crops=10 (the five unreflected patches)."
        )
    positions = POSITIONS if crops == 10 else ("centre",)
    if crops == 1:
        return positions
    reflected = tuple(p + "_reflected" for p in positions) if reflections else ()
    return positions + reflected
