//! Just enough XML for Azure Storage bodies: flat records (`<QueueMessage>`, `<Error>`) whose
//! children are text leaves.

use std::collections::HashMap;

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::client::error::{Error, Result};

/// One record: child element name → its text (entity references resolved).
pub(crate) type Record = HashMap<String, String>;

/// Every `<record>` element in `xml`, in document order, with the text of its direct children.
pub(crate) fn records(xml: &str, record: &str) -> Result<Vec<Record>> {
    // Azure prefixes its XML with a byte-order mark.
    let mut reader = Reader::from_str(xml.trim_start_matches('\u{feff}'));
    let mut out = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut current: Option<(usize, Record)> = None;
    let mut text = String::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| Error::BadResponse(format!("malformed XML from storage: {e}")))?;
        match event {
            Event::Start(start) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                if current.is_none() && name == record {
                    current = Some((stack.len() + 1, Record::new()));
                }
                stack.push(name);
                text.clear();
            }
            Event::Empty(start) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                if let Some((depth, rec)) = current.as_mut()
                    && stack.len() == *depth
                {
                    rec.insert(name, String::new());
                } else if current.is_none() && name == record {
                    out.push(Record::new());
                }
            }
            Event::Text(t) => text.push_str(&t.xml10_content().map_err(bad_text)?),
            Event::CData(t) => text.push_str(&t.decode().map_err(bad_text)?),
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(bad_text)?;
                let raw = format!("&{name};");
                match quick_xml::escape::unescape(&raw) {
                    Ok(s) => text.push_str(&s),
                    Err(_) => text.push_str(&raw),
                }
            }
            Event::End(_) => {
                let depth = stack.len();
                let name = stack.pop().unwrap_or_default();
                if let Some((rec_depth, rec)) = current.as_mut() {
                    if depth == *rec_depth + 1 {
                        rec.insert(name, std::mem::take(&mut text));
                    } else if depth == *rec_depth
                        && let Some((_, done)) = current.take()
                    {
                        out.push(done);
                    }
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

fn bad_text(e: quick_xml::encoding::EncodingError) -> Error {
    Error::BadResponse(format!("undecodable XML text from storage: {e}"))
}

/// `<?xml …?><Root><Child>escaped text</Child>…</Root>` for request bodies.
pub(crate) fn document(root: &str, children: &[(&str, &str)]) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    s.push_str(&format!("<{root}>"));
    for (name, value) in children {
        s.push_str(&format!(
            "<{name}>{}</{name}>",
            quick_xml::escape::escape(*value)
        ));
    }
    s.push_str(&format!("</{root}>"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_records_with_entities_and_cdata() {
        let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><List><Item><A>x &amp; y &#x41;</A><B/><C><![CDATA[<raw>]]></C></Item>\n  <Item><A> spaced </A></Item></List>";
        let recs = records(xml, "Item").unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0]["A"], "x & y A");
        assert_eq!(recs[0]["B"], "");
        assert_eq!(recs[0]["C"], "<raw>");
        assert_eq!(recs[1]["A"], " spaced ");
    }

    #[test]
    fn empty_list_and_bad_xml() {
        assert!(
            records("<QueueMessagesList />", "QueueMessage")
                .unwrap()
                .is_empty()
        );
        assert!(records("", "QueueMessage").unwrap().is_empty());
        assert!(records("<a><b></a>", "b").is_err());
    }

    #[test]
    fn document_escapes_text() {
        assert_eq!(
            document("QueueMessage", &[("MessageText", "héllo <&>")]),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<QueueMessage><MessageText>héllo &lt;&amp;&gt;</MessageText></QueueMessage>"
        );
    }
}
