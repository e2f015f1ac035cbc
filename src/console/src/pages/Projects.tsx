export const Projects = () => (
  <main class="page">
    <h1>Projects</h1>
  </main>
)
