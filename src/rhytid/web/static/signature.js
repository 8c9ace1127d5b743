// Signature pad of the consent form: draw with a finger, pen or mouse on the canvas; the strokes
// are kept as SVG path data ("M x y L x y ...", canvas pixels) in the hidden "signature" field.
(function () {
  "use strict";
  var canvas = document.getElementById("signature-pad");
  var field = document.getElementById("signature");
  if (!canvas || !field) { return; }
  var ctx = canvas.getContext("2d");
  var parts = [];
  var drawing = false;
  ctx.lineWidth = 2.5;
  ctx.lineCap = "round";
  ctx.strokeStyle = "#111";

  function point(event) {
    var box = canvas.getBoundingClientRect();
    var x = (event.clientX - box.left) * (canvas.width / box.width);
    var y = (event.clientY - box.top) * (canvas.height / box.height);
    return [Math.round(x * 10) / 10, Math.round(y * 10) / 10];
  }
  function start(event) {
    event.preventDefault();
    drawing = true;
    if (canvas.setPointerCapture) { canvas.setPointerCapture(event.pointerId); }
    var p = point(event);
    parts.push("M" + p[0] + " " + p[1]);
    ctx.beginPath();
    ctx.moveTo(p[0], p[1]);
  }
  function move(event) {
    if (!drawing) { return; }
    event.preventDefault();
    var p = point(event);
    parts.push("L" + p[0] + " " + p[1]);
    ctx.lineTo(p[0], p[1]);
    ctx.stroke();
    field.value = parts.join(" ");
  }
  function end() { drawing = false; field.value = parts.join(" "); }

  canvas.addEventListener("pointerdown", start);
  canvas.addEventListener("pointermove", move);
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  canvas.addEventListener("pointerleave", end);
  document.getElementById("signature-clear").addEventListener("click", function () {
    parts = [];
    field.value = "";
    ctx.clearRect(0, 0, canvas.width, canvas.height);
  });
})();
