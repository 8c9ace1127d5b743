// The intake form in short steps: one section at a time, Back/Next, the progress shown.
// Every answer stays in the one form, so going back keeps it; the form is sent once at the end.
// Without this script every step is shown one below the other (the form works the same).
(function () {
  'use strict';
  const form = document.getElementById('intake');
  if (!form) return;
  const steps = Array.from(form.querySelectorAll('section.step'));
  const progress = document.getElementById('progress');
  const text = document.getElementById('progress-text');
  const bar = document.getElementById('progress-bar');
  const send = document.getElementById('send');
  let current = 0;

  function show(index, focusTitle) {
    current = Math.max(0, Math.min(steps.length - 1, index));
    steps.forEach(function (s, k) { s.hidden = k !== current; });
    const title = steps[current].querySelector('h2');
    text.textContent = 'Step ' + (current + 1) + ' of ' + steps.length + ': ' +
      title.textContent.replace(/^Step \d+ of \d+:\s*/, '');
    bar.value = current + 1;
    send.hidden = current !== steps.length - 1;
    form.dataset.current = steps[current].dataset.step;
    if (focusTitle) {
      title.focus();
      window.scrollTo(0, 0);
    }
  }

  form.classList.add('stepped');
  progress.hidden = false;
  steps.forEach(function (s, k) {
    const nav = s.querySelector('.step-nav');
    nav.hidden = false;
    const back = nav.querySelector('.back');
    const next = nav.querySelector('.next');
    if (k === 0) back.hidden = true;
    if (k === steps.length - 1) next.hidden = true;
    back.addEventListener('click', function () { show(k - 1, true); });
    next.addEventListener('click', function () { show(k + 1, true); });
  });

  // Enter in a one-line answer moves on rather than sending a half-filled form.
  form.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && e.target.tagName === 'INPUT' && current < steps.length - 1) {
      e.preventDefault();
      show(current + 1, true);
    }
  });

  // The error summary: each link opens the step of its answer and puts the cursor in it.
  const summary = document.getElementById('error-summary');
  function goTo(id) {
    const field = document.getElementById(id);
    if (!field) return;
    const step = field.closest('section.step');
    if (step) show(steps.indexOf(step), false);
    field.focus();
    field.scrollIntoView({block: 'center'});
  }
  if (summary) {
    summary.querySelectorAll('a[href^="#"]').forEach(function (a) {
      a.addEventListener('click', function (e) {
        e.preventDefault();
        goTo(a.getAttribute('href').slice(1));
      });
    });
  }
  const first = steps.findIndex(function (s) { return s.dataset.step === form.dataset.first; });
  show(first < 0 ? 0 : first, false);
  if (summary) summary.focus();
})();
