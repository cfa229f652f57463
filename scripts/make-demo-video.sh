#!/usr/bin/env bash
# Rebuilds assets/demo-faces.mp4, the video behind `npm start`, from the public-domain photos in
# ../shared/data/faces (see its README for their licences). Scenes: a face drifting and zooming (the
# head has something to follow), nobody (idle), another face, then an empty room.
set -euo pipefail
cd "$(dirname "$0")/.."
faces=${FACES_DIR:-../shared/data/faces}
out=assets/demo-faces.mp4
# Each photo is fitted into 4:3, upscaled so that the slow zoom stays sharp, then panned/zoomed.
scene() { # image seconds zoom-direction(+1 in, -1 out)
  local frames=$(( $2 * 30 ))
  local z; if [ "$3" -gt 0 ]; then z="1+0.25*on/$frames"; else z="1.25-0.25*on/$frames"; fi
  printf "[%s:v]scale=1280:960:force_original_aspect_ratio=decrease,pad=1280:960:(ow-iw)/2:(oh-ih)/2,format=yuv420p,zoompan=z='%s':x='(iw-iw/zoom)*on/%s':y='(ih-ih/zoom)/2':d=%s:s=640x480:fps=30,setsar=1" "$4" "$z" "$frames" "$frames"
}
ffmpeg -loglevel error -y \
  -i "$faces/grace_hopper.jpg" \
  -i "$faces/chelsea.png" \
  -i "$faces/astronaut.png" \
  -f lavfi -t 2 -i "color=c=0x202020:s=640x480:r=30" \
  -filter_complex "$(scene 0 5 1 0)[a];$(scene 1 2 1 1)[b];$(scene 2 5 -1 2)[c];[3:v]format=yuv420p,setsar=1[d];[a][b][c][d]concat=n=4:v=1:a=0[v]" \
  -map "[v]" -c:v libx264 -preset slow -crf 30 -pix_fmt yuv420p -movflags +faststart "$out"
ls -l "$out"
