"use strict";
// Trigger Coach end to end, by voice: virtual-alexa (npm) turns utterances into requests from our
// interaction model, posts them to the real skill server over loopback and emulates the
// device's AudioPlayer (PlaybackStarted/Stopped/NearlyFinished/Finished).
//
// Run by tests/e2e/test_virtual_alexa.py, which starts the server and sets:
//   TRIGGER_COACH_E2E_SKILL_URL     e.g. http://127.0.0.1:PORT/  (default http://127.0.0.1:8000/)
//   TRIGGER_COACH_E2E_SKILL_ID      the skill id the server accepts (default: config.LOCAL_SKILL_ID)
//   TRIGGER_COACH_E2E_PUBLIC_URL    the server's public URL (default https://coach.example.test)
//   TRIGGER_COACH_E2E_CALVES_TRACKS how many tracks the calves routine has (optional)
// By hand: TRIGGER_COACH_VERIFY=0 TRIGGER_COACH_PUBLIC_URL=https://coach.example.test ./dev serve,
// then `npm test` here.
//
// virtual-alexa 0.7.8 quirks this file works around:
// - It sends no Signature-256 / SignatureCertChainUrl headers: the server must run with
//   TRIGGER_COACH_VERIFY=0 (verification is tested separately, in tests/integration).
// - Its applicationId is a random "amzn1.echo-sdk-ams.app.<uuid>" unless set, which our server
//   rejects with HTTP 400: we set it to the skill id.
// - Its apiEndpoint is https://api.amazonalexa.com and there is no builder option for it; and
//   without a device id it sends no deviceId, apiEndpoint or apiAccessToken at all. We set a
//   device id and rewrite apiEndpoint in a request filter to a local Settings API stub, so the
//   time-zone lookup stays on 127.0.0.1.
// - It matches utterances literally against the model's samples (plus its own short list for
//   built-in intents: "pause", "resume", "next", "previous", "repeat", "start over", "stop").
//   Anything containing ask/open/launch/tell is a LaunchRequest unless it has " to ...", so
//   "ask trigger coach how did I do this week" would only launch; we say the bare utterance.
//   Alexa also hands "ask <invocation> for X" to the skill as the utterance X; virtual-alexa
//   does not know that connecting word, so say() turns it into "ask <invocation> to X".
//   The same goes for a question asked straight after the name ("ask trigger coach what
//   helps a headache"): say() turns it into "ask trigger coach to what helps a headache".
// - An intent said during playback is wrapped in PlaybackStopped before it and, when the reply
//   has no AudioPlayer directive, PlaybackStarted after it. The intent's context.AudioPlayer
//   was built before that PlaybackStopped, so it still says PLAYING.
// - playbackFinished() resolves with the PlaybackFinished reply but does not wait for the
//   PlaybackStarted of the next queued track (a floating promise), so the two requests reach
//   the server concurrently. Every request is tracked and each step waits until all settle.
// - It never checks expectedPreviousToken, stream URLs beyond "not http:", or offsets:
//   the assertions below do.
// - playbackOffset(ms) is the only way to move the playhead (there is no clock).
// - A sample with two slots side by side ("start a {length} {routine} routine") never matches:
//   it turns each slot into a greedy (.*) and does not backtrack when the first one's words
//   are not a value of its type. Real Alexa matches those; the dialogues below say the forms
//   with words between the slots ("start a quick routine for my upper back").
// - Requiring it prints an aws-sdk v2 end-of-support notice; the wrapper silences it with
//   AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE=1.

const assert = require("node:assert/strict");
const { randomUUID } = require("node:crypto");
const http = require("node:http");
const path = require("node:path");
const { after, before, test } = require("node:test");

const { VirtualAlexa } = require("virtual-alexa");
const { AudioPlayerActivity } = require("virtual-alexa/lib/src/audioPlayer/AudioPlayer");

const SKILL_URL = process.env.TRIGGER_COACH_E2E_SKILL_URL || "http://127.0.0.1:8000/";
const SKILL_ID = process.env.TRIGGER_COACH_E2E_SKILL_ID || "amzn1.ask.skill.00000000-0000-4000-8000-trigger0coach";
const PUBLIC_URL = (process.env.TRIGGER_COACH_E2E_PUBLIC_URL || "https://coach.example.test").replace(/\/+$/, "");
const CALVES_TRACKS = Number(process.env.TRIGGER_COACH_E2E_CALVES_TRACKS || 0);
const MODELS = path.join(__dirname, "..", "..", "skill-package", "interactionModels", "custom");
// Dialogues marked with LOCALES run once per locale, each Echo with that locale's generated model.
const LOCALES = ["en-US", "en-GB", "en-IN"];
const TIME_ZONE = "America/New_York";
const STEP_MS = 15_000; // the most one step (an utterance or a player event, with its fallout) may take
const TEST_MS = 120_000;

const BRIEFING = /Rate pressure out of ten.*general wellness guidance, not medical advice\./;
const REMINDER = /As always, aim for about five or six out of ten/;

const TRACK_URL = new RegExp(`^${PUBLIC_URL.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/audio/[0-9a-f]{16,64}\\.mp3$`);

// --- a local stand-in for the Alexa Settings API (device time zone) --------------------------

let settingsApi;

function startSettingsApi() {
  const requests = [];
  const server = http.createServer((req, res) => {
    const match = /^\/v2\/devices\/([^/]+)\/settings\/System\.timeZone$/.exec(req.url);
    requests.push({ method: req.method, deviceId: match && decodeURIComponent(match[1]),
                    authorization: req.headers.authorization });
    if (req.method !== "GET" || !match || !/^Bearer \S+$/.test(req.headers.authorization || "")) {
      res.writeHead(404, { "Content-Type": "application/json" }).end('{"message": "not found"}');
      return;
    }
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(TIME_ZONE));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      resolve({ server, requests, url: `http://127.0.0.1:${server.address().port}` });
    });
  });
}

before(async () => {
  settingsApi = await startSettingsApi();
});

after(() => {
  if (!settingsApi) return;
  settingsApi.server.closeAllConnections();
  settingsApi.server.close();
});

// --- one Echo: a virtual-alexa instance with its own user and device -------------------------

function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

class Echo {
  constructor(locale = "en-US") {
    this.locale = locale;
    this.alexa = VirtualAlexa.Builder()
      .skillURL(SKILL_URL)
      .interactionModelFile(path.join(MODELS, `${locale}.json`))
      .locale(locale)
      .applicationID(SKILL_ID)
      .create();
    this.userId = `amzn1.ask.account.e2e-${randomUUID()}`;
    this.deviceId = `amzn1.ask.device.e2e-${randomUUID()}`;
    this.alexa.context().user().setID(this.userId);
    this.alexa.context().device().setID(this.deviceId);
    this.player = this.alexa.audioPlayer();
    this.log = []; // {request, reply, error} in the order the requests went out
    this.pending = new Set();
    this.failures = [];

    const entries = new WeakMap();
    // The filter sees each envelope just before it is posted: the place to fix apiEndpoint,
    // and to log requests in wire order (an intent's own PlaybackStopped goes out before it).
    this.alexa.filter((json) => {
      json.context.System.apiEndpoint = settingsApi.url;
      this.log.push(entries.get(json));
    });
    const interactor = this.alexa.interactor();
    const callSkill = interactor.callSkill.bind(interactor);
    interactor.callSkill = (request) => {
      const entry = { request: request.json(), reply: undefined, error: undefined };
      entries.set(entry.request, entry);
      const call = callSkill(request);
      const tracked = call.then(
        (reply) => { entry.reply = reply; },
        (error) => { entry.error = error; this.failures.push(error); },
      );
      this.pending.add(tracked);
      tracked.then(() => this.pending.delete(tracked));
      return call;
    };
  }

  /** Wait until every request under way (including ones virtual-alexa does not await) is done. */
  async settle(what) {
    const deadline = Date.now() + STEP_MS;
    while (this.pending.size) {
      await within(Math.max(deadline - Date.now(), 1), Promise.all([...this.pending]),
                   `the requests following ${what}`);
    }
    if (this.failures.length) {
      throw new Error(`a request failed during ${what}: ${this.failures[0]}`);
    }
  }

  async step(what, action) {
    const mark = this.log.length;
    const reply = await within(STEP_MS, action(), what);
    await this.settle(what);
    return { reply, sent: this.log.slice(mark) };
  }

  say(utterance) {
    const viaFor = /^ask trigger coach for (.+)$/i.exec(utterance);
    const viaQuestion = /^ask trigger coach ((?:what|how|which|whether)\b.+)$/i.exec(utterance);
    const carried = viaFor ? viaFor[1] : viaQuestion && viaQuestion[1];
    const heard = carried ? `ask trigger coach to ${carried}` : utterance;
    return this.step(`saying "${utterance}"`, () => this.alexa.utter(heard));
  }

  nearlyFinished() {
    return this.step("PlaybackNearlyFinished", () => this.player.playbackNearlyFinished());
  }

  finished() {
    return this.step("PlaybackFinished", () => this.player.playbackFinished());
  }

  activity() {
    return AudioPlayerActivity[this.player.playerActivity()];
  }

  playingToken() {
    return this.player.playing() && this.player.playing().stream.token;
  }

  transcript() {
    return this.log.map(({ request, reply, error }) => {
      const r = request.request;
      const what = r.type === "IntentRequest" ? r.intent.name : r.type;
      const audio = request.context.AudioPlayer;
      const context = audio && audio.playerActivity ? ` ctx=${audio.playerActivity}` : "";
      const token = r.token ? ` token=${r.token} offset=${r.offsetInMilliseconds}` : "";
      const answer = error ? `ERROR ${error}` : JSON.stringify(reply && reply.response);
      return `  -> ${what}${token}${context}\n     <- ${answer}`;
    }).join("\n");
  }
}

/** Run a dialogue with a fresh Echo in each locale (default en-US); print its transcript if it fails. */
function dialogue(name, body, locales = ["en-US"]) {
  for (const locale of locales) {
    const title = locales.length > 1 ? `${name} [${locale}]` : name;
    test(title, { timeout: TEST_MS }, async () => {
      const echo = new Echo(locale);
      try {
        await body(echo);
        for (const { request } of echo.log) {
          assert.equal(request.request.locale, locale, "every request carries the Echo's locale");
        }
        eventRepliesAreSilent(echo);
      } catch (error) {
        console.log(`Transcript of "${title}" (user ${echo.userId}):\n${echo.transcript()}`);
        throw error;
      }
    });
  }
}

// --- reading requests and replies --------------------------------------------------------------

function kinds(sent) {
  return sent.map(({ request }) => {
    const r = request.request;
    return r.type === "IntentRequest" ? r.intent.name : r.type;
  });
}

function speech(reply) {
  const out = reply.response && reply.response.outputSpeech;
  return (out && (out.ssml || out.text)) || "";
}

function directiveTypes(reply) {
  return ((reply.response && reply.response.directives) || []).map((d) => d.type);
}

/** Return the reply's one directive, asserting it is an AudioPlayer.Play. */
function onlyPlay(reply) {
  assert.deepEqual(directiveTypes(reply), ["AudioPlayer.Play"], JSON.stringify(reply.response));
  return reply.response.directives[0];
}

/** Return the track index a token names: tokens are the skill's `routine|run|track|seq`. */
function trackOf(token) {
  const parts = String(token).split("|");
  assert.equal(parts.length, 4, `token ${token} is not routine|run|track|seq`);
  return Number(parts[2]);
}

function eventRepliesAreSilent(echo) {
  for (const { request, reply } of echo.log) {
    const type = request.request.type;
    if (!type.startsWith("AudioPlayer.") || !reply) continue;
    const body = reply.response || {};
    for (const field of ["outputSpeech", "card", "reprompt"]) {
      assert.equal(body[field], undefined, `the reply to ${type} has ${field}: ${JSON.stringify(body)}`);
    }
    for (const directive of body.directives || []) {
      assert.ok(directive.type.startsWith("AudioPlayer."), `the reply to ${type} has ${directive.type}`);
    }
    if (type === "AudioPlayer.PlaybackStopped" || type === "AudioPlayer.PlaybackStarted") {
      assert.deepEqual(directiveTypes(reply), [], `the reply to ${type} has directives`);
    }
  }
}

/** Check a Play's stream and that the server really serves its file. */
async function assertStream(stream, { offset = 0 } = {}) {
  assert.match(stream.url, TRACK_URL);
  assert.equal(stream.offsetInMilliseconds, offset);
  const local = new URL(stream.url.slice(PUBLIC_URL.length + 1), SKILL_URL);
  const response = await fetch(local, { headers: { Range: "bytes=0-1" }, signal: AbortSignal.timeout(STEP_MS) });
  assert.equal(response.status, 206, `GET ${local} answered ${response.status}`);
  assert.equal(response.headers.get("content-type"), "audio/mpeg");
  await response.arrayBuffer();
}

// --- the dialogues ---------------------------------------------------------------------------------

dialogue("open, start by voice, enqueue, pause, resume, next, previous, repeat and start over", async (echo) => {
  let { reply, sent } = await echo.say("open trigger coach");
  assert.deepEqual(kinds(sent), ["LaunchRequest"]);
  assert.match(speech(reply), /Welcome to Trigger Coach/);
  assert.equal(reply.response.shouldEndSession, false);
  assert.deepEqual(directiveTypes(reply), []);
  assert.equal(echo.activity(), "IDLE");

  // "start my upper back routine": the intro speech, then the first track replaces all.
  ({ reply, sent } = await echo.say("start my upper back routine"));
  assert.deepEqual(kinds(sent), ["StartRoutineIntent", "AudioPlayer.PlaybackStarted"]);
  const slot = sent[0].request.request.intent.slots.routine;
  assert.equal(slot.value, "upper back");
  assert.equal(slot.resolutions.resolutionsPerAuthority[0].values[0].value.id, "upper-back");
  assert.equal(sent[0].request.session.new, false, "the launch's session goes on");
  let play = onlyPlay(reply);
  assert.equal(play.playBehavior, "REPLACE_ALL");
  assert.equal(reply.response.shouldEndSession, true);
  assert.match(speech(reply), /upper back routine\. It takes about \d+ minutes/);
  assert.match(speech(reply), /sharp pain/);
  assert.match(speech(reply), BRIEFING, "a new user's first start has the full safety briefing");
  assert.equal(play.audioItem.metadata.title, "Upper back routine");
  const first = play.audioItem.stream;
  await assertStream(first);
  assert.equal(trackOf(first.token), 0);
  assert.equal(sent[1].request.request.token, first.token);
  assert.equal(echo.activity(), "PLAYING");
  assert.equal(echo.playingToken(), first.token);
  const tokens = new Set([first.token]);

  // Near the end of the track the device asks for the next one: ENQUEUE after this token.
  ({ reply, sent } = await echo.nearlyFinished());
  assert.deepEqual(kinds(sent), ["AudioPlayer.PlaybackNearlyFinished"]);
  assert.equal(sent[0].request.request.token, first.token);
  play = onlyPlay(reply);
  assert.equal(play.playBehavior, "ENQUEUE");
  const second = play.audioItem.stream;
  assert.equal(second.expectedPreviousToken, first.token);
  assert.ok(!tokens.has(second.token), "an enqueued track gets a fresh token");
  tokens.add(second.token);
  assert.equal(trackOf(second.token), 1);
  assert.notEqual(second.url, first.url);
  await assertStream(second);
  assert.equal(echo.playingToken(), first.token, "the queue waits for the track to end");

  // The track ends: the device reports it and starts the queued one by itself.
  ({ reply, sent } = await echo.finished());
  assert.deepEqual(kinds(sent), ["AudioPlayer.PlaybackFinished", "AudioPlayer.PlaybackStarted"]);
  assert.deepEqual(sent.map((s) => s.request.request.token), [first.token, second.token]);
  assert.deepEqual(directiveTypes(reply), []);
  assert.equal(echo.activity(), "PLAYING");
  assert.equal(echo.playingToken(), second.token);

  // "pause" 9.5 s into the second track: the device stops, reports where, the skill says Stop.
  echo.player.playbackOffset(9_500);
  ({ reply, sent } = await echo.say("pause"));
  assert.deepEqual(kinds(sent), ["AudioPlayer.PlaybackStopped", "AMAZON.PauseIntent"]);
  assert.equal(sent[0].request.request.token, second.token);
  assert.equal(sent[0].request.request.offsetInMilliseconds, 9_500);
  assert.deepEqual(directiveTypes(reply), ["AudioPlayer.Stop"]);
  assert.equal(speech(reply), "");
  assert.equal(echo.activity(), "STOPPED");

  // "resume": the same track, same token, from where it stopped.
  ({ reply, sent } = await echo.say("resume"));
  assert.deepEqual(kinds(sent), ["AMAZON.ResumeIntent", "AudioPlayer.PlaybackStarted"]);
  play = onlyPlay(reply);
  assert.equal(play.playBehavior, "REPLACE_ALL");
  assert.equal(play.audioItem.stream.token, second.token);
  assert.equal(play.audioItem.stream.url, second.url);
  await assertStream(play.audioItem.stream, { offset: 9_500 });
  assert.equal(echo.activity(), "PLAYING");
  assert.equal(echo.playingToken(), second.token);

  // "next", "previous", "repeat", "start over": each replaces the stream with a fresh token.
  const moves = [
    ["next", "AMAZON.NextIntent", 2, null],
    ["previous", "AMAZON.PreviousIntent", 1, second.url],
    ["repeat", "AMAZON.RepeatIntent", 1, second.url],
    ["start over", "AMAZON.StartOverIntent", 0, first.url],
  ];
  for (const [utterance, intent, track, url] of moves) {
    echo.player.playbackOffset(3_000);
    ({ reply, sent } = await echo.say(utterance));
    assert.deepEqual(kinds(sent), ["AudioPlayer.PlaybackStopped", intent, "AudioPlayer.PlaybackStarted"]);
    play = onlyPlay(reply);
    assert.equal(play.playBehavior, "REPLACE_ALL", utterance);
    const stream = play.audioItem.stream;
    assert.equal(trackOf(stream.token), track, utterance);
    assert.ok(!tokens.has(stream.token), `"${utterance}" must use a fresh token`);
    tokens.add(stream.token);
    if (url) assert.equal(stream.url, url, utterance);
    else assert.ok(stream.url !== first.url && stream.url !== second.url, utterance);
    await assertStream(stream);
    assert.equal(echo.activity(), "PLAYING", utterance);
    assert.equal(echo.playingToken(), stream.token, utterance);
  }
}, LOCALES);

dialogue("stop, then pick up where you left off: on launch with yes, and with resume my routine", async (echo) => {
  let { reply } = await echo.say("start my upper back routine");
  const run = onlyPlay(reply).audioItem.stream;

  // "stop" during playback pauses the run and ends the session.
  echo.player.playbackOffset(4_321);
  let sent;
  ({ reply, sent } = await echo.say("stop"));
  assert.deepEqual(kinds(sent), ["AudioPlayer.PlaybackStopped", "AMAZON.StopIntent"]);
  assert.deepEqual(directiveTypes(reply), ["AudioPlayer.Stop"]);
  assert.equal(echo.activity(), "STOPPED");

  // A new session: the welcome offers the unfinished run, and "yes" continues it.
  ({ reply, sent } = await echo.say("open trigger coach"));
  assert.equal(sent[0].request.session.new, true);
  assert.match(speech(reply), /pick up your upper back routine where you left off\?/);
  assert.equal(reply.response.shouldEndSession, false);
  ({ reply, sent } = await echo.say("yes"));
  assert.deepEqual(kinds(sent), ["AMAZON.YesIntent", "AudioPlayer.PlaybackStarted"]);
  let play = onlyPlay(reply);
  assert.match(speech(reply), /Picking up your upper back routine where you left off/);
  assert.equal(play.audioItem.stream.token, run.token);
  await assertStream(play.audioItem.stream, { offset: 4_321 });
  assert.equal(echo.playingToken(), run.token);

  // Paused again; "resume my routine" in yet another session continues from the new spot.
  echo.player.playbackOffset(7_000);
  ({ reply } = await echo.say("pause"));
  assert.deepEqual(directiveTypes(reply), ["AudioPlayer.Stop"]);
  ({ reply, sent } = await echo.say("resume my routine"));
  assert.deepEqual(kinds(sent), ["ResumeRoutineIntent", "AudioPlayer.PlaybackStarted"]);
  assert.equal(sent[0].request.session.new, true);
  play = onlyPlay(reply);
  assert.match(speech(reply), /where you left off/);
  assert.equal(play.audioItem.stream.token, run.token);
  await assertStream(play.audioItem.stream, { offset: 7_000 });
  assert.equal(echo.activity(), "PLAYING");
}, LOCALES);

dialogue("the calves routine played to the end counts as one finished session this week", async (echo) => {
  let { reply, sent } = await echo.say("start my calves routine");
  assert.equal(sent[0].request.request.intent.slots.routine.value, "calves");
  let current = onlyPlay(reply).audioItem.stream;
  assert.equal(trackOf(current.token), 0);
  const played = [current];

  // Let every track run out: nearly finished (enqueue the next), finished (the next starts).
  for (;;) {
    ({ reply, sent } = await echo.nearlyFinished());
    const queued = directiveTypes(reply).length ? onlyPlay(reply).audioItem.stream : null;
    if (queued) {
      assert.equal(onlyPlay(reply).playBehavior, "ENQUEUE");
      assert.equal(queued.expectedPreviousToken, current.token);
      assert.equal(trackOf(queued.token), trackOf(current.token) + 1);
      assert.match(queued.url, TRACK_URL);
    }
    ({ reply, sent } = await echo.finished());
    assert.deepEqual(directiveTypes(reply), [], "nothing to add once a track has finished");
    if (!queued) {
      assert.deepEqual(kinds(sent), ["AudioPlayer.PlaybackFinished"]);
      break;
    }
    assert.deepEqual(kinds(sent), ["AudioPlayer.PlaybackFinished", "AudioPlayer.PlaybackStarted"]);
    assert.equal(echo.playingToken(), queued.token);
    current = queued;
    played.push(current);
    assert.ok(played.length <= 200, "the routine never ends");
  }
  assert.equal(new Set(played.map((s) => s.token)).size, played.length, "every track has its own token");
  if (CALVES_TRACKS) assert.equal(played.length, CALVES_TRACKS);
  assert.equal(echo.activity(), "FINISHED");

  // "how did I do this week": counted once, finished, in the device's own time zone.
  ({ reply, sent } = await echo.say("how did I do this week"));
  assert.deepEqual(kinds(sent), ["ProgressIntent"]);
  const text = speech(reply);
  assert.match(text, /This week you did one session, [\w ]+ minutes?, on your calves\./);
  assert.match(text, /You finished it\./);
  assert.doesNotMatch(text, /UTC/);
  assert.equal(reply.response.shouldEndSession, true);
  const token = sent[0].request.context.System.apiAccessToken;
  assert.deepEqual(
    settingsApi.requests.filter((r) => r.deviceId === echo.deviceId),
    [{ method: "GET", deviceId: echo.deviceId, authorization: `Bearer ${token}` }],
  );

  // Nothing is left to resume; the skill offers the routine again instead.
  ({ reply } = await echo.say("resume my routine"));
  assert.deepEqual(directiveTypes(reply), []);
  assert.match(speech(reply), /You finished your calves routine/);
});

dialogue("ask for safety tips: before the first routine, then again while it plays", async (echo) => {
  let { reply, sent } = await echo.say("ask trigger coach for safety tips");
  assert.deepEqual(kinds(sent), ["SafetyTipsIntent"]);
  assert.match(speech(reply), BRIEFING);
  assert.match(speech(reply), /Which routine would you like\?<\/speak>$/);
  assert.equal(reply.response.shouldEndSession, false);
  assert.match(reply.response.reprompt.outputSpeech.ssml, /^<speak>Which routine would you like\?/);

  // Having heard the tips, the first start only reminds.
  ({ reply, sent } = await echo.say("start my calves routine"));
  assert.deepEqual(kinds(sent), ["StartRoutineIntent", "AudioPlayer.PlaybackStarted"]);
  const stream = onlyPlay(reply).audioItem.stream;
  assert.match(speech(reply), REMINDER);
  assert.doesNotMatch(speech(reply), BRIEFING);

  // Asked during playback: the tips are spoken, the routine carries on, the stream is untouched.
  echo.player.playbackOffset(2_000);
  ({ reply, sent } = await echo.say("ask trigger coach for safety tips"));
  assert.deepEqual(kinds(sent), ["AudioPlayer.PlaybackStopped", "SafetyTipsIntent", "AudioPlayer.PlaybackStarted"]);
  assert.match(speech(reply), BRIEFING);
  assert.deepEqual(directiveTypes(reply), []);
  assert.equal(reply.response.shouldEndSession, true);
  assert.equal(echo.activity(), "PLAYING");
  assert.equal(echo.playingToken(), stream.token);

  // The queue still follows the same run.
  ({ reply } = await echo.nearlyFinished());
  const queued = onlyPlay(reply).audioItem.stream;
  assert.equal(queued.expectedPreviousToken, stream.token);
  assert.equal(trackOf(queued.token), 1);

  // "how hard should I press" is the same intent, in the words people use.
  ({ reply, sent } = await echo.say("how hard should I press"));
  assert.deepEqual(kinds(sent), ["AudioPlayer.PlaybackStopped", "SafetyTipsIntent", "AudioPlayer.PlaybackStarted"]);
  assert.match(speech(reply), /Aim for five or six/);
});

// --- issue 12: the six new areas, reached by what people say for them ------------------------

dialogue("each new area starts its own routine from the words people use for it", async (echo) => {
  const said = [
    ["start the top of my shoulder routine", "top of my shoulder", "top-of-shoulder"],
    ["massage my traps", "traps", "top-of-shoulder"],
    ["roll my forearms", "forearms", "forearms"],
    ["roll out my quads", "quads", "front-of-thigh"],
    ["start the front of my thigh routine", "front of my thigh", "front-of-thigh"],
    ["let's work on my hip flexors", "hip flexors", "hip-flexors"],
    ["roll my shins", "shins", "shins"],
    ["roll out my lats", "lats", "sides-of-back"],
    ["start the side of my back routine", "side of my back", "sides-of-back"],
  ];
  for (const [utterance, value, id] of said) {
    const { reply, sent } = await echo.say(utterance);
    assert.equal(kinds(sent)[0], "StartRoutineIntent", utterance);
    const slot = sent[0].request.request.intent.slots.routine;
    assert.equal(slot.value, value, utterance);
    assert.equal(slot.resolutions.resolutionsPerAuthority[0].values[0].value.id, id, utterance);
    // Only two routines are rendered for the tests: the others say so, and never start a stream.
    assert.match(speech(reply), /routine\. It takes about \d+ minutes|isn't ready yet/, utterance);
  }
});

// --- from what hurts to what helps (issue 12: complaints and red flags) ---------------------------

// What people say, the routine offered first (its title as spoken) and the complaint it resolves to.
const COMPLAINTS = [
  ["ask trigger coach what helps a headache", "neck and base of skull", "headache"],
  ["my head aches", "neck and base of skull", "headache"],
  ["I have sciatica", "glutes and piriformis", "sciatica"],
  ["what can I do for heel pain in the morning", "calves", "heel-morning"],
  ["I've got a knot on top of my shoulder", "top of the shoulder", "top-of-shoulder-knot"],
  ["pain down the back of my leg", "hamstrings", "back-of-leg"],
  ["what helps with low back after sitting", "lower back", "low-back-sitting"],
  ["I have plantar fasciitis", "feet", "plantar-fasciitis"],
  ["help with forearms from typing", "forearms", "forearms-typing"],
  ["what's good for runner's knee", "front of the thigh", "runners-knee"],
  ["I have shin splints", "shins", "shin-splints"],
  ["tight hips", "outer hip", "tight-hips"],
  ["pain between my shoulder blades", "upper back", "between-shoulder-blades"],
];

function resolvedId(sent, slot) {
  const value = sent.request.request.intent.slots[slot];
  const authority = value.resolutions && value.resolutions.resolutionsPerAuthority[0];
  return authority && authority.values && authority.values[0].value.id;
}

dialogue("complaints by voice: each phrasing explains and offers its routine, nothing plays until yes", async (echo) => {
  for (const [utterance, title, complaint] of COMPLAINTS) {
    const { reply, sent } = await echo.say(utterance);
    assert.deepEqual(kinds(sent), ["ComplaintIntent"], utterance);
    assert.equal(resolvedId(sent[0], "complaint"), complaint, utterance);
    assert.match(speech(reply), /\b(often|may|can)\b/, utterance);
    assert.ok(speech(reply).endsWith(`Shall I start your ${title} routine?</speak>`), `${utterance}: ${speech(reply)}`);
    assert.equal(reply.response.reprompt.outputSpeech.ssml,
                 `<speak>Shall I start your ${title} routine? Say yes or no.</speak>`, utterance);
    assert.equal(reply.response.shouldEndSession, false, utterance);
    assert.equal(reply.sessionAttributes.pending, `complaint:${complaint}:0`, utterance);
    assert.deepEqual(directiveTypes(reply), [], utterance);
    assert.equal(echo.activity(), "IDLE", utterance);
  }
});

dialogue("a complaint answered no offers the next routine; yes starts it with the safety briefing", async (echo) => {
  let { reply, sent } = await echo.say("what can I do for heel pain in the morning");
  assert.match(speech(reply), /Shall I start your calves routine\?<\/speak>$/);
  ({ reply, sent } = await echo.say("no"));
  assert.deepEqual(kinds(sent), ["AMAZON.NoIntent"]);
  assert.match(speech(reply), /Shall I start your feet routine\?<\/speak>$/);
  ({ reply, sent } = await echo.say("no"));
  assert.match(speech(reply), /Which area would you like to work on\?<\/speak>$/);
  assert.equal(reply.response.shouldEndSession, false);

  ({ reply, sent } = await echo.say("I get calf cramps"));
  assert.match(speech(reply), /Shall I start your calves routine\?<\/speak>$/);
  ({ reply, sent } = await echo.say("yes"));
  assert.deepEqual(kinds(sent), ["AMAZON.YesIntent", "AudioPlayer.PlaybackStarted"]);
  const play = onlyPlay(reply);
  assert.match(play.audioItem.stream.token, /^calves\|/);
  await assertStream(play.audioItem.stream);
  assert.match(speech(reply), BRIEFING, "the complaint path starts through the normal start");
  assert.equal(echo.activity(), "PLAYING");
});

const RED_FLAGS = [
  ["I have chest pain", /call emergency services now/],
  ["worst headache of my life", /call emergency services now/],
  ["pain after a fall", /see a clinician/],
  ["my calf is swollen", /see a clinician/],
  ["I've got numbness", /see a clinician/],
];

dialogue("red flags by voice advise medical help and start nothing", async (echo) => {
  for (const [utterance, advice] of RED_FLAGS) {
    const { reply, sent } = await echo.say(utterance);
    assert.deepEqual(kinds(sent), ["ComplaintIntent"], utterance);
    assert.match(speech(reply), advice, utterance);
    assert.match(speech(reply), /I won't start a routine for this\.<\/speak>$/, utterance);
    assert.deepEqual(directiveTypes(reply), [], utterance);
    assert.equal(reply.response.shouldEndSession, true, utterance);
    assert.equal(echo.activity(), "IDLE", utterance);
  }
  // "yes" afterwards has nothing pending: it asks, it does not start anything.
  const { reply } = await echo.say("yes");
  assert.deepEqual(directiveTypes(reply), []);
  assert.equal(echo.activity(), "IDLE");
});

dialogue("a red flag said while a routine plays stops it", async (echo) => {
  let { reply, sent } = await echo.say("start my calves routine");
  const stream = onlyPlay(reply).audioItem.stream;
  echo.player.playbackOffset(3_000);
  ({ reply, sent } = await echo.say("I have chest pain"));
  assert.deepEqual(kinds(sent), ["AudioPlayer.PlaybackStopped", "ComplaintIntent"]);
  assert.match(speech(reply), /call emergency services now/);
  assert.deepEqual(directiveTypes(reply), ["AudioPlayer.Stop"]);
  assert.equal(echo.activity(), "STOPPED");
  // The run is paused, not lost: resuming later picks it up.
  ({ reply } = await echo.say("resume my routine"));
  assert.equal(onlyPlay(reply).audioItem.stream.token, stream.token);
});

// --- how it felt: the check-in after a finished run (issue 12) ------------------------------

/** Let every track of the playing routine run out, as a device does; return how many played. */
async function playToTheEnd(echo) {
  let played = 1;
  for (;;) {
    const { reply } = await echo.nearlyFinished();
    const queued = directiveTypes(reply).length > 0;
    await echo.finished();
    if (!queued) return played;
    played += 1;
    assert.ok(played <= 200, "the routine never ends");
  }
}

dialogue("a check-in answered sore suggests rest, changes the next suggestion and shows in the summary", async (echo) => {
  let { reply, sent } = await echo.say("start my calves routine");
  onlyPlay(reply);
  await playToTheEnd(echo);
  assert.equal(echo.activity(), "FINISHED");

  // The next launch asks once how that area felt.
  ({ reply, sent } = await echo.say("open trigger coach"));
  assert.deepEqual(kinds(sent), ["LaunchRequest"]);
  assert.match(speech(reply), /How did your calves feel after your last session: better, the same, or sore\?/);
  assert.equal(reply.response.shouldEndSession, false);
  assert.match(reply.response.reprompt.outputSpeech.ssml, /Say better, the same, or sore\. Or say skip\./);

  // "it's a bit sore": rest advice, and another area is offered instead of the calves again.
  ({ reply, sent } = await echo.say("it's a bit sore"));
  assert.deepEqual(kinds(sent), ["FeelingIntent"]);
  assert.equal(sent[0].request.request.intent.slots.feeling.resolutions.resolutionsPerAuthority[0].values[0].value.id,
               "sore");
  assert.match(speech(reply), /Give your calves a rest for a day or two/);
  assert.match(speech(reply), /Would you like to work on your upper back instead\?/);
  assert.doesNotMatch(speech(reply), /calves routine again/);
  assert.deepEqual(directiveTypes(reply), []);

  // "no" to the other area: the coach asks which routine instead.
  ({ reply, sent } = await echo.say("no"));
  assert.deepEqual(kinds(sent), ["AMAZON.NoIntent"]);
  assert.match(speech(reply), /Which routine would you like\?/);

  // The summary says how the calves felt.
  ({ reply, sent } = await echo.say("how did I do this week"));
  assert.deepEqual(kinds(sent), ["ProgressIntent"]);
  assert.match(speech(reply), /Your calves felt sore after one session\./);

  // A new launch does not ask again, and still suggests another area while the calves rest.
  ({ reply, sent } = await echo.say("open trigger coach"));
  assert.equal(sent[0].request.session.new, true);
  assert.doesNotMatch(speech(reply), /How did your/);
  assert.match(speech(reply), /You told me your calves were sore, so let's give them a rest\./);
  ({ reply, sent } = await echo.say("yes"));
  assert.deepEqual(kinds(sent), ["AMAZON.YesIntent", "AudioPlayer.PlaybackStarted"]);
  assert.match(onlyPlay(reply).audioItem.stream.token, /^upper-back\|/);

  // A feeling said with no question open is thanked and not stored.
  echo.player.playbackOffset(1_000);
  ({ reply } = await echo.say("stop"));
  ({ reply, sent } = await echo.say("open trigger coach"));
  ({ reply, sent } = await echo.say("it felt better"));
  assert.deepEqual(kinds(sent), ["FeelingIntent"]);
  assert.match(speech(reply), /there's no question open just now, so I haven't noted that/);
  ({ reply } = await echo.say("how did I do this week"));
  assert.match(speech(reply), /Your calves felt sore after one session\./);
});

// --- quick or full, and starting without a name (issue 12, lengths) ----------------------------

// The file names of the quick upper back routine's tracks, in order (from its render manifest).
const QUICK_UPPER_FILES = (process.env.TRIGGER_COACH_E2E_QUICK_UPPER_FILES || "").split(",").filter(Boolean);
const FULL_UPPER_FIRST = process.env.TRIGGER_COACH_E2E_FULL_UPPER_FIRST || "";

/** Return the parts of a token: `routine|run|track|seq`, and `|quick` after a quick one's. */
function tokenParts(token) {
  const parts = String(token).split("|");
  assert.ok(parts.length === 4 || (parts.length === 5 && parts[4] === "quick"), `token ${token}`);
  return { routine: parts[0], track: Number(parts[2]), length: parts[4] || "full" };
}

function fileOf(stream) {
  return stream.url.slice(stream.url.lastIndexOf("/") + 1);
}

dialogue("begin the chest routine, can we do hamstrings and start a routine all reach the start", async (echo) => {
  for (const [utterance, id] of [["begin the chest routine", "chest"], ["can we do hamstrings", "hamstrings"]]) {
    const { reply, sent } = await echo.say(utterance);
    assert.deepEqual(kinds(sent).slice(0, 1), ["StartRoutineIntent"], utterance);
    const slot = sent[0].request.request.intent.slots.routine;
    assert.equal(slot.resolutions.resolutionsPerAuthority[0].values[0].value.id, id, utterance);
    // the suite renders only upper back and calves: the others say their audio is not ready
    assert.match(speech(reply), /isn't ready yet/, utterance);
  }
  // someone new who names nothing is asked which area, and nothing plays
  let { reply, sent } = await echo.say("start a routine");
  assert.deepEqual(kinds(sent), ["StartRoutineIntent"]);
  assert.deepEqual(directiveTypes(reply), []);
  assert.match(speech(reply), /haven't done a routine together yet.*Which routine would you like\?/);
  assert.equal(reply.response.shouldEndSession, false);
  // the same verbs with a routine that is rendered start it
  ({ reply, sent } = await echo.say("let's do calves"));
  assert.deepEqual(kinds(sent), ["StartRoutineIntent", "AudioPlayer.PlaybackStarted"]);
  const stream = onlyPlay(reply).audioItem.stream;
  assert.deepEqual(tokenParts(stream.token), { routine: "calves", track: 0, length: "full" });
  await assertStream(stream);
});

dialogue("start a quick upper back routine plays the quick track list, then the offer remembers quick", async (echo) => {
  assert.ok(QUICK_UPPER_FILES.length > 3, "the wrapper passes the quick upper back's files");
  let { reply, sent } = await echo.say("start a quick routine for my upper back");
  assert.deepEqual(kinds(sent), ["StartRoutineIntent", "AudioPlayer.PlaybackStarted"]);
  const slots = sent[0].request.request.intent.slots;
  assert.equal(slots.length.resolutions.resolutionsPerAuthority[0].values[0].value.id, "quick");
  assert.match(speech(reply), /your quick upper back routine\. It takes about [4-6] minutes/);
  let current = onlyPlay(reply).audioItem.stream;
  assert.equal(onlyPlay(reply).audioItem.metadata.title, "Upper back quick routine");
  await assertStream(current);
  const played = [current];
  for (;;) {
    ({ reply } = await echo.nearlyFinished());
    const queued = directiveTypes(reply).length ? onlyPlay(reply).audioItem.stream : null;
    ({ reply, sent } = await echo.finished());
    if (!queued) break;
    assert.equal(queued.expectedPreviousToken, current.token);
    current = queued;
    played.push(current);
    assert.ok(played.length <= 50, "the routine never ends");
  }
  assert.deepEqual(played.map(fileOf), QUICK_UPPER_FILES, "the Plays are the quick track list");
  assert.deepEqual(played.map((s) => tokenParts(s.token).length), played.map(() => "quick"));
  assert.deepEqual(played.map((s) => tokenParts(s.token).track), played.map((_, i) => i));
  assert.equal(echo.activity(), "FINISHED");

  // A new session: the offer names the quick one; "the full one" plays the whole routine.
  // (The next launch first asks, once, how the finished run felt; after the answer comes the offer.)
  ({ reply, sent } = await echo.say("open trigger coach"));
  assert.equal(sent[0].request.session.new, true);
  assert.match(speech(reply), /How did your upper back feel after your last session/);
  ({ reply, sent } = await echo.say("it felt better"));
  assert.deepEqual(kinds(sent), ["FeelingIntent"]);
  assert.match(speech(reply), /Would you like your quick upper back routine again\?/);
  ({ reply, sent } = await echo.say("the full one"));
  assert.deepEqual(kinds(sent), ["StartRoutineIntent", "AudioPlayer.PlaybackStarted"]);
  let stream = onlyPlay(reply).audioItem.stream;
  assert.deepEqual(tokenParts(stream.token), { routine: "upper-back", track: 0, length: "full" });
  if (FULL_UPPER_FIRST) assert.equal(fileOf(stream), FULL_UPPER_FIRST);
  assert.match(speech(reply), /Here's your upper back routine\./);

  // "stop", then "start my usual" for this returning user: the same routine at its last length.
  ({ reply } = await echo.say("stop"));
  assert.deepEqual(directiveTypes(reply), ["AudioPlayer.Stop"]);
  ({ reply, sent } = await echo.say("start my usual"));
  assert.deepEqual(kinds(sent).slice(0, 1), ["StartRoutineIntent"]);
  stream = onlyPlay(reply).audioItem.stream;
  assert.deepEqual(tokenParts(stream.token), { routine: "upper-back", track: 0, length: "full" });
  await assertStream(stream);
});

// --- each locale's own words: its synonyms and samples, and its emergency number -----------------

const LOCAL_WORDS = {
  "en-GB": {
    complaint: ["my bum hurts", "buttock"],
    start: ["have a go at my calves", "calves"],  // an en-GB sample (the tests render calves and upper back)
    emergency: /Please call nine nine nine now/,
  },
  "en-IN": {
    complaint: ["I have waist pain", "low-back-sitting"],
    start: ["start upper back routine", "upper-back"],  // an en-IN sample
    emergency: /Please call one one two now/,
  },
};

for (const [locale, words] of Object.entries(LOCAL_WORDS)) {
  dialogue(`the words people use in ${locale} reach the complaint and the routine they mean`, async (echo) => {
    let [utterance, id] = words.complaint;
    let { reply, sent } = await echo.say(utterance);
    assert.deepEqual(kinds(sent), ["ComplaintIntent"], utterance);
    assert.equal(resolvedId(sent[0], "complaint"), id, utterance);
    assert.match(speech(reply), /Shall I start your .+ routine\?<\/speak>$/, utterance);
    assert.equal(reply.response.shouldEndSession, false);

    ({ reply, sent } = await echo.say("I have chest pain"));
    assert.deepEqual(kinds(sent), ["ComplaintIntent"]);
    assert.match(speech(reply), words.emergency);
    assert.deepEqual(directiveTypes(reply), []);

    [utterance, id] = words.start;
    ({ reply, sent } = await echo.say(utterance));
    assert.deepEqual(kinds(sent), ["StartRoutineIntent", "AudioPlayer.PlaybackStarted"], utterance);
    assert.equal(resolvedId(sent[0], "routine"), id, utterance);
    const stream = onlyPlay(reply).audioItem.stream;
    assert.match(stream.token, new RegExp(`^${id}\\|`));
    await assertStream(stream);
    assert.equal(echo.activity(), "PLAYING");
  }, [locale]);
}
