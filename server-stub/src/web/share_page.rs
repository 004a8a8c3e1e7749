//! The public share page, `/share/{key}`: server-rendered HTML (inline CSS and a small script,
//! no framework). A responsive grid of thumbnails with thumbhash placeholders (decoded in the
//! browser), a full-screen viewer that shows the preview and then the original, a download
//! button when the link allows it, a password form when the link has one (`POST` checks it,
//! rate-limited, and sets the unlock cookie), and plain pages for expired, unknown or revoked
//! links. Everything interpolated into the HTML is escaped; data for the script travels as
//! JSON with `<`, `>` and `&` escaped.

use crate::access::{self, SharedLink};
use crate::app::AppState;
use crate::auth::client::ClientIp;
use crate::error::ApiError;
use crate::routes::shared_links::{link_assets, token_cookie, unlock};
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new().route("/share/{key}", get(page).post(submit_password))
}

/// HTML-escapes text for element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe to put inside a `<script>` element.
fn script_json(v: &Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

const STYLE: &str = r#"
*{box-sizing:border-box}body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f6f6f4;color:#222}
header{padding:20px 24px 8px}h1{margin:0 0 4px;font-size:1.6rem}p.sub{margin:0;color:#666}
main{padding:12px 24px 32px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:6px}
@media(max-width:520px){.grid{grid-template-columns:repeat(3,1fr);gap:3px}main{padding:8px}header{padding:14px 10px 4px}}
.tile{position:relative;aspect-ratio:1;border:0;padding:0;margin:0;cursor:pointer;background:#ddd center/cover no-repeat;border-radius:4px;overflow:hidden}
.tile img{width:100%;height:100%;object-fit:cover;display:block;opacity:0;transition:opacity .3s}
.tile img.loaded{opacity:1}.tile .vid{position:absolute;right:6px;bottom:6px;color:#fff;font-size:12px;text-shadow:0 0 3px #000}
#viewer{position:fixed;inset:0;background:rgba(0,0,0,.94);display:none;align-items:center;justify-content:center;z-index:10}
#viewer.open{display:flex}#viewer img{max-width:100vw;max-height:100vh;object-fit:contain}
.bar{position:fixed;top:0;left:0;right:0;display:flex;justify-content:space-between;align-items:center;padding:10px 14px;color:#fff;z-index:11}
.bar a,.bar button,.nav{background:rgba(255,255,255,.15);color:#fff;border:0;border-radius:6px;padding:8px 14px;font-size:15px;cursor:pointer;text-decoration:none}
.nav{position:fixed;top:50%;transform:translateY(-50%);z-index:11;font-size:22px}#prev{left:10px}#next{right:10px}
.box{max-width:420px;margin:12vh auto;background:#fff;padding:28px;border-radius:10px;box-shadow:0 2px 12px rgba(0,0,0,.08);text-align:center}
.box input{width:100%;padding:10px;margin:12px 0;font-size:16px;border:1px solid #bbb;border-radius:6px}
.box button{padding:10px 22px;font-size:16px;border:0;border-radius:6px;background:#3b5bdb;color:#fff;cursor:pointer}
.err{color:#c92a2a}
"#;

/// Decodes thumbhashes (after Evan Wallace's reference) and runs the grid and the viewer.
const SCRIPT: &str = r#"
function thumbHashToRGBA(hash){
 const {PI,min,max,cos,round}=Math;
 const h24=hash[0]|(hash[1]<<8)|(hash[2]<<16), h16=hash[3]|(hash[4]<<8);
 const lDc=(h24&63)/63, pDc=((h24>>6)&63)/31.5-1, qDc=((h24>>12)&63)/31.5-1;
 const lScale=((h24>>18)&31)/31, hasAlpha=h24>>23;
 const pScale=((h16>>3)&63)/63, qScale=((h16>>9)&63)/63, landscape=h16>>15;
 const lx=max(3,landscape?(hasAlpha?5:7):h16&7), ly=max(3,landscape?h16&7:(hasAlpha?5:7));
 const aDc=hasAlpha?(hash[5]&15)/15:1, aScale=(hash[5]>>4)/15;
 const acStart=hasAlpha?6:5; let acIndex=0;
 const channel=(nx,ny,scale)=>{const ac=[];for(let cy=0;cy<ny;cy++)for(let cx=cy?0:1;cx*ny<nx*(ny-cy);cx++)
   ac.push((((hash[acStart+(acIndex>>1)]>>((acIndex++&1)<<2))&15)/7.5-1)*scale);return ac;};
 const lAc=channel(lx,ly,lScale), pAc=channel(3,3,pScale*1.25), qAc=channel(3,3,qScale*1.25);
 const aAc=hasAlpha&&channel(5,5,aScale);
 const ratio=thumbHashRatio(hash);
 const w=round(ratio>1?32:32*ratio), h=round(ratio>1?32/ratio:32);
 const rgba=new Uint8ClampedArray(w*h*4), fx=[], fy=[];
 for(let y=0,i=0;y<h;y++)for(let x=0;x<w;x++,i+=4){
  let l=lDc,p=pDc,q=qDc,a=aDc;
  for(let cx=0,n=max(lx,hasAlpha?5:3);cx<n;cx++)fx[cx]=cos(PI/w*(x+.5)*cx);
  for(let cy=0,n=max(ly,hasAlpha?5:3);cy<n;cy++)fy[cy]=cos(PI/h*(y+.5)*cy);
  for(let cy=0,j=0;cy<ly;cy++)for(let cx=cy?0:1,f2=fy[cy]*2;cx*ly<lx*(ly-cy);cx++,j++)l+=lAc[j]*fx[cx]*f2;
  for(let cy=0,j=0;cy<3;cy++)for(let cx=cy?0:1,f2=fy[cy]*2;cx<3-cy;cx++,j++){const f=fx[cx]*f2;p+=pAc[j]*f;q+=qAc[j]*f;}
  if(hasAlpha)for(let cy=0,j=0;cy<5;cy++)for(let cx=cy?0:1,f2=fy[cy]*2;cx<5-cy;cx++,j++)a+=aAc[j]*fx[cx]*f2;
  const b=l-2/3*p, r=(3*l-b+q)/2, g=r-q;
  rgba[i]=max(0,255*min(1,r));rgba[i+1]=max(0,255*min(1,g));rgba[i+2]=max(0,255*min(1,b));rgba[i+3]=max(0,255*min(1,a));
 }
 return {w,h,rgba};
}
function thumbHashRatio(hash){
 const header=hash[3], hasAlpha=hash[2]&0x80, landscape=hash[4]&0x80;
 const lx=landscape?(hasAlpha?5:7):header&7, ly=landscape?header&7:(hasAlpha?5:7);
 return lx/ly;
}
function thumbHashToDataURL(b64){
 try{const bin=atob(b64), hash=new Uint8Array(bin.length);for(let i=0;i<bin.length;i++)hash[i]=bin.charCodeAt(i);
  const {w,h,rgba}=thumbHashToRGBA(hash), c=document.createElement('canvas');c.width=w;c.height=h;
  c.getContext('2d').putImageData(new ImageData(rgba,w,h),0,0);return c.toDataURL();}catch(e){return null;}
}
const data=JSON.parse(document.getElementById('share-data').textContent);
const q='key='+encodeURIComponent(data.key);
const url=(id,kind)=>kind==='original'?`/api/assets/${id}/original?${q}`:`/api/assets/${id}/thumbnail?size=${kind}&${q}`;
const grid=document.getElementById('grid');
data.assets.forEach((a,i)=>{
 const t=document.createElement('button');t.className='tile';t.dataset.index=i;t.setAttribute('aria-label',a.name||('Photo '+(i+1)));
 if(a.thumbhash){const d=thumbHashToDataURL(a.thumbhash);if(d)t.style.backgroundImage=`url(${d})`;}
 const img=document.createElement('img');img.loading='lazy';img.alt='';img.onload=()=>img.classList.add('loaded');img.src=url(a.id,'thumbnail');
 t.appendChild(img);
 if(a.video){const v=document.createElement('span');v.className='vid';v.textContent='\u25B6';t.appendChild(v);}
 t.addEventListener('click',()=>openViewer(i));grid.appendChild(t);
});
const viewer=document.getElementById('viewer'), vimg=document.getElementById('vimg'), dl=document.getElementById('download');
let current=-1;
function openViewer(i){
 current=(i+data.assets.length)%data.assets.length;const a=data.assets[current];
 viewer.classList.add('open');vimg.src=url(a.id,'preview');vimg.dataset.stage='preview';
 if(data.allowDownload&&!a.video){const full=new Image();full.onload=()=>{if(current===data.assets.indexOf(a)){vimg.src=full.src;vimg.dataset.stage='original';}};full.src=url(a.id,'original');}
 if(dl){dl.href=url(a.id,'original');dl.setAttribute('download',a.name||a.id);}
 document.getElementById('counter').textContent=(current+1)+' / '+data.assets.length;
}
function closeViewer(){viewer.classList.remove('open');vimg.removeAttribute('src');current=-1;}
document.getElementById('close').onclick=closeViewer;
document.getElementById('prev').onclick=()=>openViewer(current-1);
document.getElementById('next').onclick=()=>openViewer(current+1);
document.addEventListener('keydown',e=>{if(current<0)return;if(e.key==='Escape')closeViewer();if(e.key==='ArrowLeft')openViewer(current-1);if(e.key==='ArrowRight')openViewer(current+1);});
"#;

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{}</title><style>{STYLE}</style></head>\
         <body>{body}</body></html>",
        escape(title)
    )
}

fn page_response(status: StatusCode, html: String) -> Response {
    let mut resp = (status, Html(html)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self' data: blob:; style-src 'unsafe-inline'; \
             script-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    resp
}

fn message_page(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!(
        "<div class=\"box\" id=\"message\"><h1>{}</h1><p class=\"sub\">{}</p></div>",
        escape(title),
        escape(text)
    );
    page_response(status, layout(title, &body))
}

/// The page for a link that cannot be shown: unknown/revoked, expired, or an internal error.
fn error_page(e: ApiError) -> Response {
    match e {
        ApiError::Gone(_) => message_page(
            StatusCode::GONE,
            "This link has expired",
            "The person who shared it can send you a new one.",
        ),
        ApiError::NotFound(_) | ApiError::BadRequest(_) => message_page(
            StatusCode::NOT_FOUND,
            "This link does not exist",
            "It may have been removed by the person who shared it.",
        ),
        ApiError::TooManyRequests {
            retry_after_secs, ..
        } => message_page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many wrong passwords",
            &format!("Try again in {} minutes.", retry_after_secs.div_ceil(60)),
        ),
        other => {
            tracing::error!(error = %other, "share page");
            message_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Please try again later.",
            )
        }
    }
}

fn password_page(status: StatusCode, key: &str, wrong: bool) -> Response {
    let err = if wrong {
        "<p class=\"err\" id=\"wrong\">Wrong password. Try again.</p>"
    } else {
        ""
    };
    let body = format!(
        "<form class=\"box\" method=\"post\" action=\"/share/{}\" id=\"password-form\">\
         <h1>Password required</h1><p class=\"sub\">This shared link is protected.</p>{err}\
         <input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"current-password\" \
         placeholder=\"Password\" required autofocus><button type=\"submit\" id=\"unlock\">Open</button></form>",
        escape(key)
    );
    page_response(status, layout("Password required", &body))
}

fn gallery(
    link: &SharedLink,
    album_name: Option<String>,
    assets: &[crate::assets::Asset],
) -> Response {
    let title = album_name
        .or_else(|| link.description.clone().filter(|d| !d.is_empty()))
        .unwrap_or_else(|| "Shared photos".into());
    let items: Vec<Value> = assets
        .iter()
        .map(|a| {
            json!({
                "id": a.id,
                "thumbhash": a.thumbhash.as_ref().map(|h| STANDARD.encode(h)),
                "video": a.asset_type == "VIDEO",
                "name": if link.show_metadata { Some(&a.original_file_name) } else { None },
            })
        })
        .collect();
    let data = json!({"key": link.key, "allowDownload": link.may_download(), "assets": items});
    let description = match (&link.description, link.link_type) {
        (Some(d), access::LinkType::Album) if !d.is_empty() => {
            format!("<p class=\"sub\">{}</p>", escape(d))
        }
        _ => String::new(),
    };
    let download = if link.may_download() {
        "<a id=\"download\" href=\"#\">Download</a>"
    } else {
        ""
    };
    let n = assets.len();
    let body = format!(
        "<header><h1 id=\"title\">{}</h1>{description}<p class=\"sub\" id=\"count\">{n} item{}</p></header>\
         <main><div class=\"grid\" id=\"grid\"></div></main>\
         <div id=\"viewer\" role=\"dialog\" aria-modal=\"true\"><div class=\"bar\"><button id=\"close\">Close</button>\
         <span id=\"counter\"></span><span>{download}</span></div>\
         <button class=\"nav\" id=\"prev\" aria-label=\"Previous\">&#8249;</button><img id=\"vimg\" alt=\"\">\
         <button class=\"nav\" id=\"next\" aria-label=\"Next\">&#8250;</button></div>\
         <script type=\"application/json\" id=\"share-data\">{}</script><script>{SCRIPT}</script>",
        escape(&title),
        if n == 1 { "" } else { "s" },
        script_json(&data),
    );
    page_response(StatusCode::OK, layout(&title, &body))
}

/// Renders the gallery of a link whose password (if any) has been given.
async fn render(state: &AppState, link: SharedLink) -> Response {
    let l = link.clone();
    let loaded = state
        .db
        .call(move |c| {
            let assets = link_assets(c, &l)?;
            let album = match &l.album_id {
                Some(id) => crate::db::optional(c.query_row(
                    "SELECT name FROM albums WHERE id = ?1",
                    [id],
                    |r| r.get::<_, String>(0),
                ))?,
                None => None,
            };
            Ok((assets, album))
        })
        .await;
    match loaded {
        Ok((assets, album)) => gallery(&link, album, &assets),
        Err(e) => error_page(e),
    }
}

async fn page(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    let k = key.clone();
    let found = state
        .db
        .call(move |c| {
            let (link, _) = access::find_link(c, &k)?;
            Ok((link, access::share_secret(c)?))
        })
        .await;
    let (link, secret) = match found {
        Ok(v) => v,
        Err(e) => return error_page(e),
    };
    if link.password_hash.is_some() {
        let expected = link.unlock_token(&secret);
        let unlocked = access::cookie(&headers, access::LINK_TOKEN_COOKIE).is_some_and(|t| {
            bool::from(subtle::ConstantTimeEq::ct_eq(
                t.as_bytes(),
                expected.as_bytes(),
            ))
        });
        if !unlocked {
            return password_page(StatusCode::OK, &link.key, false);
        }
    }
    render(&state, link).await
}

#[derive(Deserialize)]
struct PasswordForm {
    password: String,
}

async fn submit_password(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    Path(key): Path<String>,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return password_page(StatusCode::BAD_REQUEST, &key, true);
    };
    match unlock(&state, key.clone(), form.password, peer).await {
        Ok((link, token)) => {
            let mut resp = (StatusCode::SEE_OTHER, ()).into_response();
            let h = resp.headers_mut();
            if let Ok(loc) = HeaderValue::from_str(&format!("/share/{}", link.key)) {
                h.insert(header::LOCATION, loc);
            }
            if let Some(cookie) = token_cookie(&token) {
                h.insert(header::SET_COOKIE, cookie);
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(ApiError::Unauthorized(_)) if access::plausible_key(&key) => {
            password_page(StatusCode::UNAUTHORIZED, &key, true)
        }
        Err(e) => error_page(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape("<b a=\"x\">'&'</b>"),
            "&lt;b a=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;"
        );
        let v = json!({"name": "</script><script>alert(1)</script>&"});
        let s = script_json(&v);
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }
}
