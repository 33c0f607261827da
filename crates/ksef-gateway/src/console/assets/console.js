// Lets files be dropped on the validation form (choosing them works without this script), and scrolls each
// checked file's source to its first marked line.
document.addEventListener("DOMContentLoaded", () => {
  for (const source of document.querySelectorAll("pre.source")) {
    const mark = source.querySelector(".mark");
    if (mark) source.scrollTop = Math.max(0, mark.offsetTop - source.offsetTop - 60);
  }
  const form = document.getElementById("drop");
  const input = document.getElementById("files");
  if (!form || !input) return;
  for (const type of ["dragenter", "dragover"]) {
    form.addEventListener(type, (event) => { event.preventDefault(); form.classList.add("dragging"); });
  }
  form.addEventListener("dragleave", () => form.classList.remove("dragging"));
  form.addEventListener("drop", (event) => {
    event.preventDefault();
    form.classList.remove("dragging");
    if (!event.dataTransfer || event.dataTransfer.files.length === 0) return;
    input.files = event.dataTransfer.files;
    form.requestSubmit();
  });
});
