/**
 * The widget's only styles, inside each shadow root. Adopted as a constructed stylesheet so a
 * strict `style-src 'self'` page still styles it (a <style> element is the fallback for browsers
 * without adoptedStyleSheets). `:host` resets with !important, which beats the page's own
 * !important rules on the placeholder. Theme with the custom properties, e.g. on the placeholder:
 *   --sharpsend-accent, --sharpsend-accent-text, --sharpsend-bg, --sharpsend-text,
 *   --sharpsend-muted, --sharpsend-border, --sharpsend-radius, --sharpsend-font,
 *   --sharpsend-error, --sharpsend-success, --sharpsend-margin (the only outside spacing kept)
 */
const accent = 'var(--sharpsend-accent,#1d4ed8)';
const border = '1px solid var(--sharpsend-border,#d7dce3)';
const muted = 'var(--sharpsend-muted,#4b5563)';
const radius = 'var(--sharpsend-radius,14px)';
const bg = 'background:var(--sharpsend-bg,#fff)';
const onAccent = `background:${accent};color:var(--sharpsend-accent-text,#fff)`;
const error = 'var(--sharpsend-error,#b91c1c)';
const small = 'font-size:.9em';

// Written as short as it reads (rules the user agent already applies are left out): every byte
// here ships in the UI chunk. form, fieldset, h2 and legend are blocks by default.
const css = `:host{all:initial!important;display:block!important;visibility:visible!important;opacity:1!important;font:15px/1.5 var(--sharpsend-font,system-ui,sans-serif)!important;color:var(--sharpsend-text,#111827)!important;margin:var(--sharpsend-margin,0)!important}
*{box-sizing:border-box}
.card{position:relative;${bg};border:${border};border-radius:${radius};padding:20px 22px 12px;box-shadow:0 1px 3px #0f172a0f}
h2,legend{margin:0 0 4px;padding:0;font-size:1.15em;font-weight:700;line-height:1.3}
p{margin:0 0 14px;color:${muted}}
fieldset{margin:0;min-width:0}
legend{float:left;width:100%}legend+*{clear:both}
.chips,.row{display:flex;flex-wrap:wrap;gap:8px}
.chip{position:relative}
.chip input{position:absolute;inset:0;width:100%;height:100%;margin:0;opacity:0;cursor:pointer}
.chip span{display:inline-block;padding:7px 16px 7px 14px;border:${border};border-radius:999px;${bg};font-weight:600;transition:.15s}
.chip span:before{content:"+";display:inline-block;width:1em;margin-right:4px;text-align:center;color:${accent}}
.chip input:hover+span{border-color:${accent}}
.chip input:checked+span{${onAccent};border-color:${accent}}
.chip input:checked+span:before{content:"\\2713";color:inherit}
.chip input:focus-visible+span,input:focus-visible,button:focus-visible{outline:3px solid ${accent};outline-offset:2px}
.status{min-height:1.5em;margin:8px 0 0;${small}}
.ok{color:var(--sharpsend-success,#047857);font-weight:600}
.bad{color:${error}}
label{display:block;font-weight:600;${small};margin:0 0 4px}
input[type=email]{flex:1 1 220px;min-width:0;font:inherit;color:inherit;background:#fff;padding:10px 12px;border:${border};border-radius:calc(${radius} - 4px);outline-offset:0}
input[aria-invalid=true]{border-color:${error}}
button{font:inherit;font-weight:700;padding:10px 20px;border:0;border-radius:calc(${radius} - 4px);cursor:pointer;${onAccent}}
button:hover{filter:brightness(1.1)}
button[disabled]{opacity:.65;cursor:progress}
.picked{margin:10px 0 0;${small}}
.consent{display:flex;gap:10px;align-items:flex-start;margin:12px 0 0;font-weight:400;font-size:.875em;color:${muted}}
.consent input{width:18px;height:18px;margin:1px 0 0;flex:none;accent-color:${accent}}
.hp{position:absolute;left:-9999px}`;

let sheet: CSSStyleSheet | undefined;

export function adoptStyles(root: ShadowRoot): void {
  try {
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
    }
    root.adoptedStyleSheets = [sheet];
  } catch {
    const style = document.createElement('style');
    style.textContent = css;
    root.append(style);
  }
}
