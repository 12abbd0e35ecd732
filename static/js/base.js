// The language selector submits itself when changed (a button stays for no-JS users).
document.querySelectorAll("form[data-language-switch] select").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});
