// Starts the app. A file rather than an inline script, so the portal's Content Security
// Policy can refuse every inline script.
import init from "/pkg/greenroom-frontend.js";
init();
