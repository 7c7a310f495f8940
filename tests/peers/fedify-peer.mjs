// A second fediverse instance for tests/it/fediverse.rs, built on Fedify (the framework behind
// Ghost's and Hollo's ActivityPub): one account, `ana`, whose inbox records what arrives
// (Fedify verifies every signature before a listener sees the activity), and a control API
// the test drives: follow, reply, like, boost, edit, delete, unfollow.
//
//   node fedify-peer.mjs     prints {"port": N} once it listens on 127.0.0.1:N
import http from "node:http";
import {
  Accept, Announce, Create, Delete, Endpoints, Follow, Like, Note, Person, PUBLIC_COLLECTION,
  Reject, Tombstone, Undo, Update, createFederation, generateCryptoKeyPair, MemoryKvStore,
} from "@fedify/fedify";

const keyPair = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
const received = [];
const federation = createFederation({ kv: new MemoryKvStore(), allowPrivateAddress: true });

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== "ana") return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Ana of the Fedify peer",
      url: new URL(`/@${identifier}`, ctx.url),
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: keys[0].cryptographicKey,
    });
  })
  .setKeyPairsDispatcher(async () => [keyPair]);

const record = async (ctx, activity) => {
  received.push(await activity.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader }));
};
federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Accept, record)
  .on(Announce, record)
  .on(Reject, record)
  .on(Create, record)
  .on(Update, record)
  .on(Delete, record);

let base;
const ana = (ctx) => ctx.getActorUri("ana");
const public_ = { to: PUBLIC_COLLECTION };

async function control(action, input) {
  const ctx = federation.createContext(new URL(base), undefined);
  const blog = await ctx.lookupObject(input.blog, { documentLoader: ctx.documentLoader });
  if (blog == null) throw new Error(`cannot look up ${input.blog}`);
  const note = (n) => new URL(`/notes/${n}`, base);
  const send = (activity) => ctx.sendActivity({ identifier: "ana" }, blog, activity, { preferSharedInbox: true });
  const follow = new Follow({ id: new URL(`/follows/${input.n ?? 1}`, base), actor: ana(ctx), object: blog.id });
  switch (action) {
    case "follow":
      return send(follow);
    case "unfollow":
      return send(new Undo({ id: new URL(`/follows/${input.n ?? 1}/undo`, base), actor: ana(ctx), object: follow }));
    case "reply":
      return send(new Create({
        id: new URL(`/notes/${input.n}/create`, base), actor: ana(ctx), ...public_,
        object: new Note({
          id: note(input.n), attribution: ana(ctx), ...public_,
          replyTarget: new URL(input.inReplyTo), content: input.content,
        }),
      }));
    case "edit":
      return send(new Update({
        id: new URL(`/notes/${input.n}/update`, base), actor: ana(ctx), ...public_,
        object: new Note({
          id: note(input.n), attribution: ana(ctx), ...public_,
          replyTarget: new URL(input.inReplyTo), content: input.content,
        }),
      }));
    case "delete":
      return send(new Delete({
        id: new URL(`/notes/${input.n}/delete`, base), actor: ana(ctx), ...public_,
        object: new Tombstone({ id: note(input.n) }),
      }));
    case "like":
      return send(new Like({ id: new URL("/likes/1", base), actor: ana(ctx), object: new URL(input.object) }));
    case "boost":
      return send(new Announce({
        id: new URL("/boosts/1", base), actor: ana(ctx), ...public_, object: new URL(input.object),
      }));
    default:
      throw new Error(`unknown action ${action}`);
  }
}

const readBody = (req) => new Promise((resolve, reject) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => resolve(Buffer.concat(chunks)));
  req.on("error", reject);
});

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, base);
    const body = await readBody(req);
    if (url.pathname === "/control/received") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify(received));
    }
    if (url.pathname.startsWith("/control/")) {
      await control(url.pathname.slice("/control/".length), JSON.parse(body.toString() || "{}"));
      res.writeHead(204);
      return res.end();
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      for (const v of [].concat(value)) headers.append(name, v);
    }
    const hasBody = !["GET", "HEAD"].includes(req.method);
    const response = await federation.fetch(
      new Request(url, { method: req.method, headers, body: hasBody ? body : undefined }),
      { contextData: undefined },
    );
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (error) {
    res.writeHead(500, { "content-type": "text/plain" });
    res.end(String(error?.stack ?? error));
  }
});
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address();
  base = `http://127.0.0.1:${port}`;
  console.log(JSON.stringify({ port }));
});
