// Before/after photos of one standard view: pick the pair, and wipe the "after" photo over the
// "before" one with the slider (the after photo is clipped from the right).
"use strict";
(function () {
  for (const box of document.querySelectorAll(".compare")) {
    const wipe = box.querySelector(".wipe");
    const top = box.querySelector(".overlay .img-after");
    const show = () => { top.style.clipPath = `inset(0 ${100 - Number(wipe.value)}% 0 0)`; top.dataset.shown = wipe.value; };
    wipe.addEventListener("input", show);
    for (const which of ["before", "after"]) {
      const pick = box.querySelector(`.pick-${which}`);
      pick.addEventListener("change", () => {
        const opt = pick.selectedOptions[0];
        for (const img of box.querySelectorAll(`.img-${which}`)) img.src = opt.value;
        box.querySelector(`.cap-${which}`).textContent = `${which === "before" ? "Before" : "After"} · ${opt.dataset.date}`;
      });
    }
    show();
  }
})();
