// "Why this digit" in pictures: a 28x28 map (-1..1) laid over the ink in two
// colour-blind-safe colours (Okabe-Ito blue for the answer, vermillion for
// the runner-up). The pad draws it on the person's strokes; the dashboard, on
// the 28x28 input of a confident mistake or a flagged drawing, when its
// "Why?" button is pressed.

export const FOR = [0, 114, 178];
export const AGAINST = [213, 94, 0];

// The map as a 28x28 picture: coloured where the ink made a difference, clear elsewhere.
export function tint(map) {
  const small = document.createElement("canvas");
  small.width = 28;
  small.height = 28;
  const image = small.getContext("2d").createImageData(28, 28);
  map.forEach((row, y) => row.forEach((v, x) => {
    if (Math.abs(v) < 0.08) return; // ink that made no difference keeps its colour
    const rgb = v > 0 ? FOR : AGAINST;
    const i = 4 * (28 * y + x);
    image.data[i] = rgb[0];
    image.data[i + 1] = rgb[1];
    image.data[i + 2] = rgb[2];
    image.data[i + 3] = Math.round(255 * Math.min(1, 0.35 + Math.abs(v)));
  }));
  small.getContext("2d").putImageData(image, 0, 0);
  return small;
}

// A label as the API says it (a digit, or "none") in words.
export function named(label) {
  return label === "none" ? "no digit" : String(label);
}

// A 28x28 input with the map over it, in place of the plain picture.
function overlaid(img, why) {
  const canvas = document.createElement("canvas");
  canvas.width = 28;
  canvas.height = 28;
  canvas.className = img.className + " why-overlay";
  canvas.style.width = img.width + "px";
  canvas.style.height = img.height + "px";
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", why.sentence + " (blue: ink for " + named(why.top) +
                      "; orange: ink for " + named(why.runner_up) + ")");
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0, 28, 28);
  ctx.drawImage(tint(why.map), 0, 0);
  return canvas;
}

// Every [data-why-url] button: fetch the map, lay it over the image named by
// data-why-for, and say in words what it shows.
function wire(button) {
  button.hidden = false;
  button.addEventListener("click", async () => {
    const img = document.getElementById(button.dataset.whyFor);
    const said = document.getElementById(button.dataset.whySay);
    button.disabled = true;
    if (said) said.textContent = "Looking…";
    try {
      const response = await fetch(button.dataset.whyUrl, { headers: { Accept: "application/json" } });
      const why = await response.json();
      if (!response.ok) throw new Error(why.error || "the server did not answer");
      if (img && img.complete) img.replaceWith(overlaid(img, why));
      if (said) said.textContent = why.sentence;
      button.hidden = true;
    } catch (err) {
      if (said) said.textContent = "Could not say why: " + err.message + ".";
      button.disabled = false;
    }
  });
}

document.querySelectorAll("[data-why-url]").forEach(wire);
