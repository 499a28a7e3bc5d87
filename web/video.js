// Video at the table: camera and microphone between the members of a room over WebRTC. The
// server only relays the signalling (`signal`: offer, answer, ICE candidates, bye) to one
// member and shows everyone who has their camera on (`media` in presence); the media flows
// between the browsers. Of two members with cameras on, the one with the smaller player id
// calls, so two offers never cross.
import { h } from './lib.js';

/**
 * @param {{ send: (msg: object) => boolean, me: () => string | undefined, tiles: HTMLElement,
 *   button: HTMLButtonElement, toast: (msg: string) => void }} io
 */
export function createVideo({ send, me, tiles, button, toast }) {
  let local = null; // MediaStream while the camera is on
  let room = null; // the room the camera is on in
  const peers = new Map(); // player id -> { pc, tile, pending: ICE candidates before the offer/answer }

  function tile(id, name, stream, mine) {
    const video = h('video', { autoplay: true, playsinline: true, 'data-peer': id });
    video.muted = mine; // never play one's own microphone back
    video.srcObject = stream;
    const fig = h('figure', { class: `tile-video${mine ? ' mine' : ''}`, 'data-peer': id }, video,
      h('figcaption', { class: 'small' }, mine ? 'You' : name));
    tiles.append(fig);
    return fig;
  }

  function peer(id, name) {
    let p = peers.get(id);
    if (p) return p;
    const pc = new RTCPeerConnection();
    p = { pc, tile: null, pending: [] };
    peers.set(id, p);
    for (const track of local.getTracks()) pc.addTrack(track, local);
    pc.onicecandidate = (e) => { if (e.candidate) send({ t: 'signal', room, to: id, kind: 'ice', data: e.candidate.toJSON() }); };
    pc.ontrack = (e) => { if (!p.tile) p.tile = tile(id, name, e.streams[0], false); };
    pc.onconnectionstatechange = () => { if (pc.connectionState === 'failed') hangUp(id, true); };
    return p;
  }

  function hangUp(id, tell) {
    const p = peers.get(id);
    if (!p) return;
    peers.delete(id);
    if (tell) send({ t: 'signal', room, to: id, kind: 'bye' });
    p.pc.close();
    p.tile?.remove();
  }

  async function call(id, name) {
    const p = peer(id, name);
    const offer = await p.pc.createOffer();
    await p.pc.setLocalDescription(offer);
    send({ t: 'signal', room, to: id, kind: 'offer', data: p.pc.localDescription.toJSON() });
  }

  async function flush(p) {
    for (const c of p.pending.splice(0)) await p.pc.addIceCandidate(c).catch(() => {});
  }

  return {
    get on() { return local != null; },

    /** Turn the camera (and microphone) on in `roomId`, or off. */
    async toggle(roomId, members) {
      if (local) return this.stop();
      try {
        local = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
      } catch (e) {
        return toast(`The camera could not be started: ${e.message}`);
      }
      room = roomId;
      tile(me(), 'You', local, true);
      button.setAttribute('aria-pressed', 'true');
      button.textContent = 'Turn camera off';
      send({ t: 'media', room, camera: true, mic: true });
      this.members(roomId, members);
    },

    /** Hang up on everyone and stop the camera. */
    stop() {
      if (!local) return;
      for (const id of [...peers.keys()]) hangUp(id, true);
      for (const track of local.getTracks()) track.stop();
      send({ t: 'media', room, camera: false, mic: false });
      local = null; room = null;
      tiles.replaceChildren();
      button.setAttribute('aria-pressed', 'false');
      button.textContent = 'Turn camera on';
    },

    /** The room's members changed: call those whose camera came on, drop those gone. */
    members(roomId, members) {
      if (!local) return;
      if (roomId !== room) return this.stop();
      for (const id of [...peers.keys()]) if (!members.get(id)?.media?.camera) hangUp(id, false);
      for (const m of members.values()) {
        if (m.id === me() || !m.media?.camera || !m.connected || peers.has(m.id)) continue;
        if (me() < m.id) call(m.id, m.name).catch((e) => toast(`Calling ${m.name} failed: ${e.message}`));
      }
    },

    /** A signalling message from another member. */
    async signal(m, members) {
      if (!local || m.room !== room) return;
      const name = members.get(m.from)?.name || '?';
      if (m.kind === 'bye') return hangUp(m.from, false);
      if (m.kind === 'offer') {
        const p = peer(m.from, name);
        await p.pc.setRemoteDescription(m.data);
        await p.pc.setLocalDescription(await p.pc.createAnswer());
        send({ t: 'signal', room, to: m.from, kind: 'answer', data: p.pc.localDescription.toJSON() });
        return flush(p);
      }
      const p = peers.get(m.from);
      if (!p) return;
      if (m.kind === 'answer') {
        await p.pc.setRemoteDescription(m.data);
        return flush(p);
      }
      if (m.kind === 'ice') {
        if (p.pc.remoteDescription) await p.pc.addIceCandidate(m.data).catch(() => {});
        else p.pending.push(m.data);
      }
    },
  };
}
