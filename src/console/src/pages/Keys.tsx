export const Keys = () => (
  <main class="page">
    <h1>Keys</h1>
  </main>
)
